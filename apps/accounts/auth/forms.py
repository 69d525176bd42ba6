"""Extra sign-up fields (settings.ACCOUNT_SIGNUP_FORM_CLASS): allauth's page form, its headless
input and its social sign-up form all derive from this class."""

from django import forms
from django.utils.translation import gettext_lazy as _


class SignupExtraFields(forms.Form):
    field_order = ["email", "first_name", "password1", "password2"]

    first_name = forms.CharField(
        label=_("First name"),
        max_length=150,
        required=False,
        widget=forms.TextInput(attrs={"placeholder": _("First name (optional)")}),
    )

    def signup(self, request, user) -> None:
        """allauth's adapter already copied `first_name` onto the user."""
