"""OpenAPI post-processing: show the wire format (camelCase names, the success and error
envelopes) rather than the Python one."""

from typing import Any

from drf_spectacular.views import SpectacularJSONAPIView, SpectacularSwaggerView
from rest_framework.response import Response
from rest_framework.views import APIView

from botopia_meta.api import schema_contract
from botopia_meta.api.camel import to_camel

ERROR_ENVELOPE = {
    "type": "object",
    "required": ["success", "error"],
    "properties": {
        "success": {"type": "boolean", "enum": [False]},
        "error": {
            "type": "object",
            "required": ["code", "message", "details"],
            "properties": {
                "code": {"type": "string", "example": "VALIDATION_ERROR"},
                "message": {"type": "string"},
                "details": {"type": "object", "additionalProperties": True},
            },
        },
    },
}


def _camelize_schema(schema: Any) -> None:
    if isinstance(schema, list):
        for item in schema:
            _camelize_schema(item)
        return
    if not isinstance(schema, dict):
        return
    if isinstance(schema.get("properties"), dict):
        schema["properties"] = {to_camel(k): v for k, v in schema["properties"].items()}
    if isinstance(schema.get("required"), list):
        schema["required"] = [to_camel(k) for k in schema["required"]]
    for value in schema.values():
        _camelize_schema(value)


def envelope_postprocessing_hook(result: dict, generator, request, public) -> dict:
    components = result.setdefault("components", {}).setdefault("schemas", {})
    _camelize_schema(components)
    components["ErrorEnvelope"] = ERROR_ENVELOPE
    error_ref = {"$ref": "#/components/schemas/ErrorEnvelope"}
    for path_item in result.get("paths", {}).values():
        for operation in path_item.values():
            if not isinstance(operation, dict) or "responses" not in operation:
                continue
            for parameter in operation.get("parameters", []):
                if parameter.get("in") == "query":
                    parameter["name"] = to_camel(parameter["name"])
            for status, response in operation["responses"].items():
                content = response.get("content", {}).get("application/json")
                if content is None or not str(status).startswith("2"):
                    continue
                _camelize_schema(content.get("schema"))
                content["schema"] = {
                    "type": "object",
                    "required": ["success", "data"],
                    "properties": {"success": {"type": "boolean", "enum": [True]}, "data": content["schema"]},
                }
            operation["responses"].setdefault(
                "default",
                {"description": "Error envelope", "content": {"application/json": {"schema": error_ref}}},
            )
    return schema_contract.apply(result)


class _EnvelopeErrors(APIView):
    """The schema and docs views render the schema (JSON) or Swagger UI (HTML); their errors
    (401 without a token) are rendered as the API's error envelope like every other endpoint."""

    def handle_exception(self, exc: Exception) -> Response:
        from rest_framework.renderers import JSONRenderer

        self.request.accepted_renderer = JSONRenderer()
        self.request.accepted_media_type = "application/json"
        return super().handle_exception(exc)


class SchemaView(_EnvelopeErrors, SpectacularJSONAPIView):
    pass


class DocsView(_EnvelopeErrors, SpectacularSwaggerView):
    pass
