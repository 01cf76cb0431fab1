"""finkportal fitter: gatspy period fits and pyLIMA microlensing fits as a service."""
