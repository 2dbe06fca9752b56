"""handlers of the facebook app; registers with botopia_meta.registry on import."""
