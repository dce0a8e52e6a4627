"""Sentry's ``GETTING_STARTED_DOCS_PLATFORMS``: what ``Project.is_valid_platform`` accepts
(besides an empty value and ``other``). Console platforms need the organization to enable them."""

from __future__ import annotations

PLATFORMS = frozenset(
    {
        "android", "apple", "apple-ios", "apple-macos", "bun", "capacitor", "cloudflare-pages",
        "cloudflare-workers", "cordova", "dart", "deno", "dotnet", "dotnet-aspnet",
        "dotnet-aspnetcore", "dotnet-awslambda", "dotnet-gcpfunctions", "dotnet-maui", "dotnet-uwp",
        "dotnet-winforms", "dotnet-wpf", "dotnet-xamarin", "electron", "elixir", "flutter", "go",
        "go-echo", "go-fasthttp", "go-fiber", "go-gin", "go-http", "go-iris", "go-martini",
        "go-negroni", "ionic", "java", "java-log4j2", "java-logback", "java-spring",
        "java-spring-boot", "javascript", "javascript-angular", "javascript-astro",
        "javascript-ember", "javascript-gatsby", "javascript-nextjs", "javascript-react",
        "javascript-remix", "javascript-solid", "javascript-solidstart", "javascript-svelte",
        "javascript-sveltekit", "javascript-nuxt", "javascript-vue", "kotlin", "minidump", "native",
        "native-qt", "nintendo-switch", "node", "node-awslambda", "node-azurefunctions",
        "node-connect", "node-express", "node-fastify", "node-gcpfunctions", "node-hapi", "node-koa",
        "node-nestjs", "php", "php-laravel", "php-symfony", "powershell", "python", "python-aiohttp",
        "python-asgi", "python-awslambda", "python-bottle", "python-celery", "python-chalice",
        "python-django", "python-falcon", "python-fastapi", "python-flask", "python-gcpfunctions",
        "python-pylons", "python-pymongo", "python-pyramid", "python-quart", "python-rq",
        "python-sanic", "python-serverless", "python-starlette", "python-tornado", "python-tryton",
        "python-wsgi", "react-native", "ruby", "ruby-rack", "ruby-rails", "rust", "unity", "unreal",
    }
)  # fmt: skip
CONSOLES = frozenset({"nintendo-switch", "playstation", "xbox"})


def is_valid_platform(value: str | None) -> bool:
    return not value or value == "other" or value in PLATFORMS
