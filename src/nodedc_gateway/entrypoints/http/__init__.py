from nodedc_gateway.entrypoints.http.app import create_app

__all__ = ["create_app"]
