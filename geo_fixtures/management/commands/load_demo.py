from django.core.management.base import BaseCommand

from geo_fixtures.demo import load_demo


class Command(BaseCommand):
    help = "Create the demo city (idempotent): admin user, home page and, per feature, its content."

    def handle(self, *args, **options) -> None:
        login = load_demo(lambda message: self.stdout.write(f"  {message}"))
        self.stdout.write(
            self.style.SUCCESS(
                f"Demo ready. Admin login: {login.username} / {login.password} (at /admin/)"
            )
        )
