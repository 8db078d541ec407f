"""Command-line interface: click verbs over the library, the settings object (flags + environment), rendering.
The only package that reads the environment or writes to the terminal; nothing imports it."""
