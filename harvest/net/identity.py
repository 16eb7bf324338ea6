"""How the crawlers name themselves: Hex answers 400 without a User-Agent, GitHub rejects REST
calls without one, and both ask crawlers to identify themselves with a contact."""

from harvest import __version__

CONTACT_URL = "https://github.com/elixir-harvest/elixir-harvest"
USER_AGENT = f"elixir-harvest/{__version__} (+{CONTACT_URL})"
