from rest_framework.parsers import JSONParser

from botopia_meta.api.camel import underscoreize


class CamelCaseJSONParser(JSONParser):
    def parse(self, stream, media_type=None, parser_context=None):
        return underscoreize(super().parse(stream, media_type, parser_context))
