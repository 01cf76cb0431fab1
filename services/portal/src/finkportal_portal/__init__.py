"""finkportal portal: the Dash science portal. It reads data only through the query API."""
