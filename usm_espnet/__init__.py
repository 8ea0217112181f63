"""usm-espnet: Google's Universal Speech Model (USM) as ESPnet plugins."""

__version__ = "0.1.0"
