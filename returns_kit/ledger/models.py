"""The ledger's tables: one schema and one migration history for SQLite and PostgreSQL.

Rows are added, not changed: a submission, an explanation, a decision or a sign-off is never
updated in place; a later row (a newer explanation, a withdrawal, a new decision) takes
precedence, so the history stays whole. Which return is current is derived from the
submissions, never stored, so it cannot disagree with them.

People are plain names (``by``) for now; the web service will attach accounts and roles.
"""

from __future__ import annotations

from django.db import models


class Collection(models.Model):
    """One national collection; its settings live in the folder's collection.toml."""

    name = models.CharField(max_length=200, unique=True)
    created_at = models.DateTimeField()
    #: the settings the collection was started with (collection.toml's, as the log's init
    #: entry records them), for a service that has the database but not the folder
    settings = models.JSONField(default=dict)


class ChainHead(models.Model):
    """The log's last entry, one row per collection: every writing command locks it first
    (SELECT ... FOR UPDATE on PostgreSQL; SQLite's IMMEDIATE transaction locks the whole
    database), so two commands append to the chain one after the other."""

    collection = models.OneToOneField(Collection, on_delete=models.PROTECT, related_name="head")
    seq = models.BigIntegerField(default=0)
    hash = models.CharField(max_length=64)


class AuditEntry(models.Model):
    """One event in the hash-chained log: ``hash`` = SHA-256 of ``prev_hash`` and the entry's
    canonical JSON (seq, time, kind, payload). ``payload`` keeps the exact canonical text."""

    collection = models.ForeignKey(Collection, on_delete=models.PROTECT, related_name="log")
    seq = models.BigIntegerField()
    at = models.DateTimeField()
    kind = models.CharField(max_length=40)
    payload = models.TextField()
    prev_hash = models.CharField(max_length=64)
    hash = models.CharField(max_length=64)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["collection", "seq"], name="audit_seq_once")]
        ordering = ["collection", "seq"]


class Submission(models.Model):
    """A file as received, identified by its SHA-256: the same bytes twice are one submission
    (with one :class:`Arrival` per time and name they came under)."""

    collection = models.ForeignKey(Collection, on_delete=models.PROTECT, related_name="submissions")
    sha256 = models.CharField(max_length=64)
    #: where the bytes are, relative to the collection folder (files/ab/abcd....xlsx)
    stored = models.CharField(max_length=200)
    council_code = models.CharField(max_length=9, blank=True)
    period = models.CharField(max_length=7, blank=True)
    submitted_on = models.DateField(null=True)
    received_at = models.DateTimeField()
    #: the order of receipt within the collection (the log's seq of the submission event)
    received_seq = models.BigIntegerField()
    valid = models.BooleanField()
    errors = models.IntegerField()
    queries = models.IntegerField()
    warnings = models.IntegerField()
    #: the query findings (file and period-to-period), each with rule, scope, evidence, message
    query_findings = models.JSONField(default=list)
    #: the full validation report, as `returns validate --format json` gives it for the file
    report = models.JSONField()
    returns_kit_version = models.CharField(max_length=40)
    #: a digest of what shaped the verdict: schemas, reference list and thresholds
    rules_version = models.CharField(max_length=40)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["collection", "sha256"], name="submission_once")
        ]
        indexes = [models.Index(fields=["collection", "council_code", "period"])]


class Arrival(models.Model):
    """One receipt of a submission's bytes: under which name, from whom, when."""

    submission = models.ForeignKey(Submission, on_delete=models.PROTECT, related_name="arrivals")
    name = models.CharField(max_length=500)
    by = models.CharField(max_length=200, blank=True)
    received_at = models.DateTimeField()
    seq = models.BigIntegerField()


class Explanation(models.Model):
    """A council's explanation of a query, for the council and period (not a file): it answers
    that query (rule and scope) in every later submission until replaced or withdrawn."""

    collection = models.ForeignKey(Collection, on_delete=models.PROTECT)
    council_code = models.CharField(max_length=9)
    period = models.CharField(max_length=7)
    rule = models.CharField(max_length=10)
    scope = models.CharField(max_length=200, blank=True)
    text = models.TextField(blank=True)
    withdrawn = models.BooleanField(default=False)
    #: "collect" (given to the collection) or "workbook" (the Explanations sheet)
    source = models.CharField(max_length=20)
    submission = models.ForeignKey(Submission, null=True, on_delete=models.PROTECT)
    by = models.CharField(max_length=200, blank=True)
    at = models.DateTimeField()
    seq = models.BigIntegerField()


class Decision(models.Model):
    """The national team's decision on a query or flag (``rule``/``scope``), or on the return
    as a whole (``rule`` empty): accepted or returned. It holds while the evidence behind the
    finding is unchanged; a different evidence hash reopens it."""

    ACCEPTED, RETURNED = "accepted", "returned"

    collection = models.ForeignKey(Collection, on_delete=models.PROTECT)
    council_code = models.CharField(max_length=9)
    period = models.CharField(max_length=7)
    rule = models.CharField(max_length=10, blank=True)
    scope = models.CharField(max_length=200, blank=True)
    outcome = models.CharField(max_length=10)
    reason = models.TextField()
    evidence_hash = models.CharField(max_length=64)
    submission = models.ForeignKey(Submission, on_delete=models.PROTECT)
    by = models.CharField(max_length=200)
    at = models.DateTimeField()
    seq = models.BigIntegerField()


class SignOff(models.Model):
    """A named approver's sign-off of one submission (a resubmission needs a new one)."""

    collection = models.ForeignKey(Collection, on_delete=models.PROTECT)
    submission = models.ForeignKey(Submission, on_delete=models.PROTECT)
    council_code = models.CharField(max_length=9)
    period = models.CharField(max_length=7)
    by = models.CharField(max_length=200)
    at = models.DateTimeField()
    seq = models.BigIntegerField()


class Reopening(models.Model):
    """The national team lets a council submit after the hard close (one period, or all)."""

    collection = models.ForeignKey(Collection, on_delete=models.PROTECT)
    council_code = models.CharField(max_length=9)
    period = models.CharField(max_length=7, blank=True)
    reason = models.TextField()
    by = models.CharField(max_length=200)
    at = models.DateTimeField()
    seq = models.BigIntegerField()


class Release(models.Model):
    """A publication: which submissions it used and the SHA-256 of every output it wrote."""

    collection = models.ForeignKey(Collection, on_delete=models.PROTECT)
    at = models.DateTimeField()
    out = models.TextField()
    published = models.BooleanField()
    #: [{"council_code", "period", "sha256"}], the current returns used
    submissions = models.JSONField()
    #: {output file name: sha256}
    outputs = models.JSONField()
    seq = models.BigIntegerField()


class Judgement(models.Model):
    """A submission's period-to-period findings (P001-P006) judged again, because the previous
    period's current return changed after it arrived (it came later, or was corrected). The
    latest judgement stands in for the submission's own period findings; those stay as they
    were recorded."""

    submission = models.ForeignKey(Submission, on_delete=models.PROTECT, related_name="judgements")
    #: the previous period's return compared with ("" when there is none to compare with)
    previous_sha256 = models.CharField(max_length=64, blank=True)
    #: the period findings, each as Finding.to_dict() gives it
    findings = models.JSONField()
    at = models.DateTimeField()
    seq = models.BigIntegerField()


# ---------------------------------------------------------------------------------------------
# People (the collection service): Django's own users hold names and password hashes; a
# Person gives one of them a role in one collection and, for council roles, a council.


class Person(models.Model):
    """A user's role in a collection. Council roles (submitter, approver) see their council
    only; national roles (reviewer, admin) see every council."""

    SUBMITTER, APPROVER, REVIEWER, ADMIN = "submitter", "approver", "reviewer", "admin"
    COUNCIL_ROLES = (SUBMITTER, APPROVER)
    NATIONAL_ROLES = (REVIEWER, ADMIN)
    ROLES = (*COUNCIL_ROLES, *NATIONAL_ROLES)

    user = models.OneToOneField("auth.User", on_delete=models.PROTECT, related_name="person")
    collection = models.ForeignKey(Collection, on_delete=models.PROTECT, related_name="people")
    role = models.CharField(max_length=20, choices=[(role, role) for role in ROLES])
    #: the council's GSS code for council roles; empty for national roles
    council_code = models.CharField(max_length=9, blank=True)

    @property
    def national(self) -> bool:
        return self.role in self.NATIONAL_ROLES


class ApiToken(models.Model):
    """A bearer token for the JSON API. Only its SHA-256 is kept: the token itself is shown
    once, when made, so a copy of the database cannot be used to call the API."""

    person = models.ForeignKey(Person, on_delete=models.PROTECT, related_name="tokens")
    digest = models.CharField(max_length=64, unique=True)
    created_at = models.DateTimeField()
    revoked = models.BooleanField(default=False)


class LoginFailure(models.Model):
    """A failed sign-in, kept so that failures can be limited across every app process (the
    service keeps no state outside the database)."""

    username = models.CharField(max_length=150)
    address = models.CharField(max_length=64, blank=True)
    at = models.DateTimeField(db_index=True)


class Build(models.Model):
    """A run of the aggregate started from the service ("build the tables"): it runs in its
    own process, which records how it ended here."""

    QUEUED, RUNNING, DONE, FAILED = "queued", "running", "done", "failed"

    collection = models.ForeignKey(Collection, on_delete=models.PROTECT, related_name="builds")
    by = models.CharField(max_length=200)
    publish = models.BooleanField(default=False)
    status = models.CharField(max_length=10, default=QUEUED)
    #: the output folder, relative to the collection folder
    out = models.CharField(max_length=200, blank=True)
    message = models.TextField(blank=True)
    started_at = models.DateTimeField()
    finished_at = models.DateTimeField(null=True)
