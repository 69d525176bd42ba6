"""POST /webhooks/stripe/: signature, staleness, de-duplication, storage and hand-off."""

import json
import time

import pytest

from apps.billing.models import EventStatus, StripeEvent
from apps.billing.stripe_events import stripe_event_process

from .helpers import deliver, sign, stripe_event

pytestmark = pytest.mark.django_db

URL = "/webhooks/stripe/"


def invoice_obj(customer="cus_nobody", **fields):
    return {"id": "in_test1", "object": "invoice", "customer": customer, "amount_paid": 0, **fields}


def test_a_signed_event_is_stored_and_handed_to_a_task_on_commit(
    client, django_capture_on_commit_callbacks
):
    event = stripe_event("invoice.paid", invoice_obj(customer="cus_abc"))
    with django_capture_on_commit_callbacks() as callbacks:
        response = deliver(client, event)
    assert response.status_code == 200
    assert response.json() == {"received": True, "duplicate": False}
    stored = StripeEvent.objects.get(stripe_event_id=event["id"])
    assert stored.status == EventStatus.PENDING and stored.attempts == 0
    assert stored.type == "invoice.paid" and stored.customer_id == "cus_abc"
    assert stored.payload == event
    assert len(callbacks) == 1


@pytest.mark.parametrize(
    "signature",
    [
        "t=1700000000,v1=deadbeef",  # forged
        "",  # missing
        "garbage",  # unparsable
    ],
)
def test_forged_or_missing_signatures_answer_400_and_store_nothing(client, signature):
    body = json.dumps(stripe_event("invoice.paid", invoice_obj()))
    response = client.post(
        URL, data=body, content_type="application/json", HTTP_STRIPE_SIGNATURE=signature
    )
    assert response.status_code == 400
    assert response["Content-Type"] == "application/problem+json"
    assert response.json()["type"] == "/problems/malformed-request"
    assert not StripeEvent.objects.exists()


def test_a_signature_with_another_secret_is_refused(client):
    response = deliver(client, stripe_event("invoice.paid", invoice_obj()), secret="whsec_other")
    assert response.status_code == 400
    assert not StripeEvent.objects.exists()


def test_a_body_changed_after_signing_is_refused(client):
    body = json.dumps(stripe_event("invoice.paid", invoice_obj()))
    header = sign(body)
    response = client.post(
        URL,
        data=body.replace("cus_nobody", "cus_victim"),
        content_type="application/json",
        HTTP_STRIPE_SIGNATURE=header,
    )
    assert response.status_code == 400
    assert not StripeEvent.objects.exists()


def test_a_stale_delivery_is_refused(client, settings):
    old = int(time.time()) - settings.STRIPE_WEBHOOK_TOLERANCE_S - 5
    response = deliver(client, stripe_event("invoice.paid", invoice_obj()), timestamp=old)
    assert response.status_code == 400
    assert not StripeEvent.objects.exists()
    # Just inside the tolerance is fine.
    recent = int(time.time()) - settings.STRIPE_WEBHOOK_TOLERANCE_S + 30
    response = deliver(client, stripe_event("invoice.paid", invoice_obj()), timestamp=recent)
    assert response.status_code == 200


def test_a_duplicate_delivery_answers_200_and_is_not_processed_again(
    client, django_capture_on_commit_callbacks
):
    event = stripe_event("invoice.paid", invoice_obj())
    assert deliver(client, event).status_code == 200
    stored = StripeEvent.objects.get(stripe_event_id=event["id"])
    stripe_event_process(event_pk=stored.pk)
    stored.refresh_from_db()
    first = (stored.status, stored.attempts, stored.processed_at)

    with django_capture_on_commit_callbacks() as callbacks:
        response = deliver(client, event)
    assert response.status_code == 200
    assert response.json()["duplicate"] is True
    assert callbacks == []  # nothing enqueued
    assert StripeEvent.objects.filter(stripe_event_id=event["id"]).count() == 1
    # Even a second run of the task does nothing.
    stripe_event_process(event_pk=stored.pk)
    stored.refresh_from_db()
    assert (stored.status, stored.attempts, stored.processed_at) == first


def test_a_signed_body_that_is_not_an_event_is_refused(client):
    body = json.dumps({"hello": "world"})
    response = client.post(
        URL, data=body, content_type="application/json", HTTP_STRIPE_SIGNATURE=sign(body)
    )
    assert response.status_code == 400
    body = "{not json"
    response = client.post(
        URL, data=body, content_type="application/json", HTTP_STRIPE_SIGNATURE=sign(body)
    )
    assert response.status_code == 400
    assert not StripeEvent.objects.exists()


def test_types_we_do_not_handle_are_stored_as_ignored_and_not_enqueued(
    client, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks() as callbacks:
        deliver(client, stripe_event("customer.created", {"id": "cus_1", "object": "customer"}))
    stored = StripeEvent.objects.get()
    assert stored.status == EventStatus.IGNORED and stored.last_error == "type not handled"
    assert callbacks == []


def test_events_of_another_api_version_are_stored_but_ignored(client):
    event = stripe_event("invoice.paid", invoice_obj())
    event["api_version"] = "2017-08-15"
    assert deliver(client, event).status_code == 200
    stored = StripeEvent.objects.get()
    assert stored.status == EventStatus.IGNORED and "2017-08-15" in stored.last_error


def test_objects_of_customers_we_do_not_know_are_ignored(client, process_delivered):
    deliver(client, stripe_event("invoice.paid", invoice_obj(customer="cus_stranger")))
    assert process_delivered() == [EventStatus.IGNORED]
    assert "not a customer" in StripeEvent.objects.get().last_error


def test_only_post_is_served(client):
    response = client.get(URL)
    assert response.status_code == 405
    assert response["Allow"] == "POST"


def test_the_webhook_needs_no_csrf_token_and_no_session(settings):
    from django.test import Client

    strict = Client(enforce_csrf_checks=True)
    assert deliver(strict, stripe_event("invoice.paid", invoice_obj())).status_code == 200


# --- Review D fix: Malformed webhook bodies answer 400 --------------------------------------------


def _post(client, body: str | bytes, signature: str | None = None):
    if signature is None:
        signature = sign(body.decode("utf-8", "replace") if isinstance(body, bytes) else body)
    return client.post(
        "/webhooks/stripe/",
        data=body,
        content_type="application/json",
        HTTP_STRIPE_SIGNATURE=signature,
    )


def test_a_non_utf8_body_is_refused_with_400(client):
    response = _post(client, b'{"id": "evt_\xff"}', signature="t=1,v1=abc")
    assert response.status_code == 400
    assert not StripeEvent.objects.exists()


def test_a_non_utf8_body_signed_over_its_bytes_is_refused_with_400(client, settings):
    import hashlib
    import hmac

    body = b'{"id": "evt_\xff"}'
    timestamp = int(time.time())
    mac = hmac.new(
        settings.STRIPE_WEBHOOK_SECRET.encode(), f"{timestamp}.".encode() + body, hashlib.sha256
    ).hexdigest()
    response = _post(client, body, signature=f"t={timestamp},v1={mac}")
    assert response.status_code == 400
    assert not StripeEvent.objects.exists()


def _invoice_event(**changes) -> dict:
    return {**stripe_event("invoice.paid", {"id": "in_x", "customer": "cus_x"}), **changes}


@pytest.mark.parametrize(
    "event",
    [
        pytest.param(_invoice_event(created=10**20), id="created-huge"),
        pytest.param(_invoice_event(created=-(10**20)), id="created-negative-huge"),
        pytest.param(_invoice_event(created="1700000000"), id="created-string"),
        pytest.param(_invoice_event(created=True), id="created-bool"),
        pytest.param(_invoice_event(type=["invoice.paid"]), id="type-list"),
        pytest.param(_invoice_event(id={"a": 1}), id="id-dict"),
        pytest.param(_invoice_event(data=[1]), id="data-list"),
        pytest.param([1, 2], id="top-level-list"),
        pytest.param("event", id="top-level-string"),
    ],
)
def test_signed_events_of_the_wrong_shape_are_refused_with_400(client, event):
    response = _post(client, json.dumps(event))
    assert response.status_code == 400, response.content
    assert not StripeEvent.objects.exists()


def test_a_signed_body_with_nan_is_refused_with_400(client):
    body = json.dumps(_invoice_event()).replace('"livemode": false', '"livemode": NaN')
    assert "NaN" in body
    assert _post(client, body).status_code == 400
    assert not StripeEvent.objects.exists()


def test_a_customer_that_is_not_a_string_is_stored_without_one(client):
    event = stripe_event("invoice.paid", {"id": "in_y", "customer": 5})
    assert _post(client, json.dumps(event)).status_code == 200
    stored = StripeEvent.objects.get(stripe_event_id=event["id"])
    assert stored.customer_id == ""


def test_nul_characters_and_lone_surrogates_are_dropped_from_the_stored_copy(client):
    event = stripe_event(
        "invoice.paid",
        {"id": "in_z\u0000", "customer": "cus_x", "description": "a\u0000b\ud800c"},
    )
    body = json.dumps(event)
    assert "\\u0000" in body and "\\ud800" in body
    assert _post(client, body).status_code == 200
    stored = StripeEvent.objects.get(stripe_event_id=event["id"])
    assert stored.object_id == "in_z"
    assert stored.payload["data"]["object"]["description"] == "abc"
    # The same delivery again is a duplicate, not an error.
    response = _post(client, body)
    assert response.status_code == 200 and response.json()["duplicate"] is True
