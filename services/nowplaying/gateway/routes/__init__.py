"""The API's routers, one module per area; each has ``router(settings) -> APIRouter``."""
