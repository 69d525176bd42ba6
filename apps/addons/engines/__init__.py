"""Where add-ons run: the server-side half (databases, roles, redis-servers), no Django models.

`local.py` finds the runtime's directory and supervisord; `pg_cluster.py` keeps the add-on
PostgreSQL cluster running; `postgres.py` and `redis.py` make, change and remove one add-on on its
server. services.py calls these; they never touch the control plane's database."""
