"""The cross-platform inbox and the comment / conversation code shared by the Facebook and
Instagram apps (which may not import each other).

- views.py, urls.py, serializers.py: /api/meta/comments and /api/meta/conversations, merging
  every source registered in botopia_meta.registry.INBOX_SOURCES; source.py: the one source class.
- spec.py: `InboxSpec`, what differs between the platforms; each app declares one in its
  inbox.py. comments.py, messaging.py, handlers.py, actors.py, selectors.py: the shared logic,
  parametrised by it; meta.py: reading Meta's answers (times, stored errors, cached lists).
- models.py, admin.py: abstract bases; each app keeps its concrete models, FKs and tables."""
