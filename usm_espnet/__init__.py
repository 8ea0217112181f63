"""usm-espnet: Google's Universal Speech Model (USM) as ESPnet plugins.

``import usm_espnet`` is enough for ESPnet's own code to know our classes::

    import usm_espnet
    from espnet2.bin.asr_inference import Speech2Text

    s2t = Speech2Text("exp/asr/config.yaml", "exp/asr/valid.loss.ave.pth")  # encoder: chunk_conformer

Importing this package stays cheap (no torch, no ESPnet): it only arranges that
:func:`usm_espnet.registry.register` runs for an ESPnet task module (e.g.
``espnet2.tasks.asr``) right after that module is first imported, or at once if
it already is.
"""

__version__ = "0.1.0"


def _install_registration_hook() -> None:
    from usm_espnet.registry import install_import_hook

    install_import_hook()


_install_registration_hook()
del _install_registration_hook
