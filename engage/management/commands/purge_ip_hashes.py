"""``manage.py purge_ip_hashes [--older-than DAYS]``: clear keyed IP hashes past retention."""

from __future__ import annotations

from datetime import timedelta

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError, CommandParser

from engage.privacy import ip_hashes_purge


class Command(BaseCommand):
    help = (
        "Clear the keyed IP-address hashes of comments and flags older than DAYS days "
        "(default: the IP_HASH_RETENTION_DAYS setting). Run it daily, e.g. from cron."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--older-than", type=int, metavar="DAYS", dest="days")

    def handle(self, *args, days: int | None, **options) -> None:
        if days is None:
            days = settings.IP_HASH_RETENTION_DAYS
        if days < 0:
            raise CommandError("--older-than must be 0 or more days")
        purged = ip_hashes_purge(older_than=timedelta(days=days))
        self.stdout.write(
            f"IP hashes older than {days} days cleared: {purged['comments']} comments, "
            f"{purged['flags']} flags"
        )
