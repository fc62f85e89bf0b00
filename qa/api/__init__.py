"""Ways in for programs: an OpenAI-compatible API (``openai_routes``) and MCP tools
(``mcp_tools``), both thin layers over ``QA.ask`` / ``QA.retrieve`` / ``QA.documents`` that
hand out the same citation records (``citations``); ``keys`` guards them; ``server`` mounts
them in the chat's own server."""
