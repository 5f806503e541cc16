"""The platform layer: the only code in webstore that imports ``js`` or ``pyodide``.

* ``bridge.py`` + ``shared.js``: calling JS helper files, batches across the FFI, JS errors.
* ``idb.py`` + ``idb.js``, ``localstorage.py`` + ``localstorage.js``: the browser backends
  (registered by name in :mod:`webstore.backends`, imported only when chosen).
* ``locks.py`` (Web Locks), ``channels.py`` (BroadcastChannel / storage events),
  ``quota.py`` (``navigator.storage``), ``services.py``: what the layers above get through
  :func:`webstore._runtime.services`.
* ``jsapi.py``: the Python half of the JavaScript API in ``wasm/js/``.

Nothing here is imported on CPython; importing this package itself imports nothing.
"""
