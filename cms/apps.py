from django.apps import AppConfig


class CmsConfig(AppConfig):
    name = "cms"
    verbose_name = "Pages"

    def ready(self) -> None:
        from cms import signals  # noqa: F401 - connects the page → discussion receivers
