"""discovery of the instagram app; registers with botopia_meta.registry on import."""
