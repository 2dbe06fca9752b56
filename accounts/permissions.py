"""The Meta permissions each kind of action needs. A platform endpoint passes one of these to
`accounts.selectors.active_account(permissions=...)`, which answers 403
MISSING_META_PERMISSION naming what is missing, before any Graph call is made."""

WHATSAPP_MANAGE = ("whatsapp_business_management",)  # templates, numbers, business profile
WHATSAPP_MESSAGING = ("whatsapp_business_messaging",)  # send, mark read, media
PAGES_READ = ("pages_show_list", "pages_read_engagement")
PAGES_PUBLISH = ("pages_show_list", "pages_manage_posts")
PAGES_ENGAGE = ("pages_manage_engagement",)  # reply to, hide, delete comments
PAGES_MESSAGING = ("pages_messaging",)
PAGES_INSIGHTS = ("read_insights",)
INSTAGRAM_READ = ("instagram_basic",)
INSTAGRAM_PUBLISH = ("instagram_basic", "instagram_content_publish")
INSTAGRAM_COMMENTS = ("instagram_manage_comments",)
INSTAGRAM_MESSAGES = ("instagram_manage_messages",)
INSTAGRAM_INSIGHTS = ("instagram_manage_insights",)
