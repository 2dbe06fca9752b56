"""WhatsApp account screen: the WABA and its numbers, refresh from Meta, business profile."""

from drf_spectacular.utils import extend_schema
from rest_framework.response import Response
from rest_framework.views import APIView

from accounts.selectors import active_account
from botopia_meta.api.views import AuthedRequest, paginated_response, validated
from botopia_meta.exceptions import NotFound
from orgs.audit import Action, record
from whatsapp.account import selectors, services
from whatsapp.account.serializers import (
    AccountQuerySerializer,
    AccountRefreshSerializer,
    AccountSerializer,
    BusinessProfileUpdateSerializer,
    PhoneNumberListSerializer,
    PhoneNumberQuerySerializer,
    PhoneNumberSerializer,
    account_data,
)

MANAGEMENT = "whatsapp_business_management"


class AccountView(APIView):
    @extend_schema(
        operation_id="whatsapp_account",
        parameters=[AccountQuerySerializer],
        responses={200: AccountSerializer},
        summary="The connected WABA seen through one of its numbers (phoneNumberId picks it).",
    )
    def get(self, request: AuthedRequest) -> Response:
        query = validated(AccountQuerySerializer, request.query_params)
        account = active_account(org=request.org, account_id=query.get("account_id"))
        waba, number = selectors.phone_number_for_account(
            account=account, phone_number_id=query.get("phone_number_id")
        )
        return Response(AccountSerializer(account_data(waba, number)).data)


class PhoneNumberListView(APIView):
    @extend_schema(
        operation_id="whatsapp_phone_numbers",
        parameters=[PhoneNumberQuerySerializer],
        responses={200: PhoneNumberListSerializer},
        summary="Every phone number of the caller's WABAs, with quality rating and messaging tier.",
    )
    def get(self, request: AuthedRequest) -> Response:
        query = validated(PhoneNumberQuerySerializer, request.query_params)
        selectors.require_own_ids(org=request.org, waba_id=query.get("waba_id"))
        numbers = selectors.phone_number_list(org=request.org, waba_id=query.get("waba_id"))
        return paginated_response(
            request, numbers, key="phone_numbers", serializer_class=PhoneNumberSerializer
        )


class AccountRefreshView(APIView):
    @extend_schema(
        operation_id="whatsapp_account_refresh",
        request=AccountRefreshSerializer,
        responses={200: AccountSerializer},
        summary="Re-read the WABA, its numbers and their business profiles from Meta.",
    )
    def post(self, request: AuthedRequest) -> Response:
        body = validated(AccountRefreshSerializer, request.data)
        account = active_account(org=request.org, account_id=body.get("account_id"), permissions=[MANAGEMENT])
        # Both ids are resolved before anything is refreshed: someone else's is a 404 with no
        # call to Meta, not a refresh of the caller's own first WABA.
        if body.get("waba_id"):
            selectors.waba_for_account(account=account, waba_id=body["waba_id"])
        selectors.phone_number_for_account(account=account, phone_number_id=body.get("phone_number_id"))
        services.account_refresh(account=account, waba_id=body.get("waba_id"))
        waba, number = selectors.phone_number_for_account(
            account=account, phone_number_id=body.get("phone_number_id")
        )
        return Response(AccountSerializer(account_data(waba, number)).data)


class BusinessProfileView(APIView):
    @extend_schema(
        operation_id="whatsapp_business_profile_update",
        request=BusinessProfileUpdateSerializer,
        responses={200: AccountSerializer},
        summary="Update the business profile of a number at Meta.",
    )
    def patch(self, request: AuthedRequest) -> Response:
        body = validated(BusinessProfileUpdateSerializer, request.data)
        account = active_account(org=request.org, permissions=[MANAGEMENT])
        waba, number = selectors.phone_number_for_account(
            account=account, phone_number_id=body.pop("phone_number_id", None)
        )
        if number is None:
            raise NotFound("This WhatsApp Business account has no phone number yet.")
        number = services.business_profile_update(number=number, fields=body)
        record(request, Action.BUSINESS_PROFILE_UPDATE, number, fields=sorted(body))
        return Response(AccountSerializer(account_data(waba, number)).data)
