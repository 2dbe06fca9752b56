"""template_handlers of the whatsapp app; registers with botopia_meta.registry on import."""
