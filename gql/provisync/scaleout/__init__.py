"""Scale-out: sync work carried by procrastinate jobs on PostgreSQL, run by ``provisync worker``.

With ``PROVISYNC_EXECUTION=queue`` the API replicas no longer run syncs themselves: every run
they start becomes a job (:mod:`provisync.scaleout.jobs`) that a worker process executes, one run
per rule at a time (a procrastinate lock per rule), with repeated full resyncs merged into the one
already queued (a queueing lock). Workers poll inbound rules from a periodic task, recover the
jobs of workers that died (their heartbeat stopped), and announce progress with PostgreSQL
``NOTIFY``, which every API replica relays to its subscribers (:mod:`provisync.scaleout.progress`).
"""
