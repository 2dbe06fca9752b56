"""Message templates: the mirror's list, and create / edit / delete / sync at Meta."""

from drf_spectacular.utils import extend_schema
from rest_framework.response import Response
from rest_framework.views import APIView

from accounts.selectors import active_account
from botopia_meta.api.views import AuthedRequest, paginated_response, validated
from orgs.audit import Action, record
from whatsapp.account.selectors import require_own_ids, waba_for_account, waba_list
from whatsapp.message_templates import selectors, services
from whatsapp.message_templates.serializers import (
    TemplateDeletedSerializer,
    TemplateEditSerializer,
    TemplateListSerializer,
    TemplateQuerySerializer,
    TemplateSerializer,
    TemplateSyncRequestSerializer,
    TemplateSyncResultSerializer,
    TemplateWriteSerializer,
)

MANAGEMENT = "whatsapp_business_management"


class TemplateListView(APIView):
    @extend_schema(
        operation_id="whatsapp_templates_list",
        parameters=[TemplateQuerySerializer],
        responses={200: TemplateListSerializer},
        summary="Templates from our mirror of Meta's list (no Graph call).",
    )
    def get(self, request: AuthedRequest) -> Response:
        query = validated(TemplateQuerySerializer, request.query_params)
        require_own_ids(org=request.org, waba_id=query.get("waba_id"))
        templates = selectors.template_list(
            org=request.org,
            status=query.get("status"),
            category=query.get("category"),
            search=query.get("search"),
            language=query.get("language"),
            waba_id=query.get("waba_id"),
        ).select_related("waba")
        return paginated_response(request, templates, key="templates", serializer_class=TemplateSerializer)

    @extend_schema(
        operation_id="whatsapp_templates_create",
        request=TemplateWriteSerializer,
        responses={201: TemplateSerializer},
        summary="Validate against Meta's rules, then create the template at Meta.",
    )
    def post(self, request: AuthedRequest) -> Response:
        body = validated(TemplateWriteSerializer, request.data)
        account = active_account(org=request.org, permissions=[MANAGEMENT])
        waba = waba_for_account(account=account, waba_id=body.get("waba_id"))
        template = services.template_create(
            waba=waba,
            name=body.get("name", ""),
            language=body.get("language", ""),
            category=body.get("category", ""),
            components=body.get("components") or [],
            parameter_format=body.get("parameter_format") or None,
        )
        record(request, Action.TEMPLATE_CREATE, template, name=template.name, language=template.language)
        return Response(TemplateSerializer(template).data, status=201)


class TemplateDetailView(APIView):
    @extend_schema(operation_id="whatsapp_templates_get", responses={200: TemplateSerializer})
    def get(self, request: AuthedRequest, template_id: str) -> Response:
        return Response(
            TemplateSerializer(selectors.template_get(org=request.org, template_id=template_id)).data
        )

    @extend_schema(
        operation_id="whatsapp_templates_update",
        request=TemplateEditSerializer,
        responses={200: TemplateSerializer},
        summary="Edit at Meta (Meta's edit rules apply; Meta reviews the edit again).",
    )
    def put(self, request: AuthedRequest, template_id: str) -> Response:
        template = selectors.template_get(org=request.org, template_id=template_id)
        body = validated(TemplateEditSerializer, request.data)
        active_account(org=request.org, account_id=template.waba.account_id, permissions=[MANAGEMENT])
        template = services.template_update(
            template=template,
            components=body.get("components") or [],
            category=body.get("category") or None,
            name=body.get("name") or None,
            language=body.get("language") or None,
            parameter_format=body.get("parameter_format") or None,
        )
        record(request, Action.TEMPLATE_EDIT, template, name=template.name, language=template.language)
        return Response(TemplateSerializer(template).data)

    @extend_schema(operation_id="whatsapp_templates_delete", responses={200: TemplateDeletedSerializer})
    def delete(self, request: AuthedRequest, template_id: str) -> Response:
        template = selectors.template_get(org=request.org, template_id=template_id)
        active_account(org=request.org, account_id=template.waba.account_id, permissions=[MANAGEMENT])
        services.template_delete(template=template)
        record(request, Action.TEMPLATE_DELETE, template, name=template.name, language=template.language)
        return Response({"id": template.id, "deleted": True})


class TemplateSyncView(APIView):
    @extend_schema(
        operation_id="whatsapp_templates_sync",
        request=TemplateSyncRequestSerializer,
        responses={200: TemplateSyncResultSerializer},
        summary="Page through Meta's templates and reconcile the mirror (adds, updates, removes).",
    )
    def post(self, request: AuthedRequest) -> Response:
        body = validated(TemplateSyncRequestSerializer, request.data)
        account = active_account(org=request.org, permissions=[MANAGEMENT])
        if body.get("waba_id"):
            wabas = [waba_for_account(account=account, waba_id=body["waba_id"])]
        else:
            wabas = list(waba_list(account=account))
        result = services.templates_sync_wabas(wabas=wabas)
        return Response(TemplateSyncResultSerializer({**result.as_dict(), "wabas": result.wabas}).data)
