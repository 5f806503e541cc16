// Errors: Error subclasses whose `name` is the Python error class (webstore/errors.py).
// Structured fields (key, argument, backend, reason, ...) are copied onto the error.

export class WebstoreError extends Error {
  constructor(message, fields = {}) {
    super(message);
    Object.assign(this, fields);
  }
  get name() { return this.constructor.name; }
}

export class InvalidArgument extends WebstoreError {}
export class InvalidKey extends WebstoreError {}
export class KeyNotFound extends WebstoreError {}
export class UnsupportedValue extends WebstoreError {}
export class StorageFull extends WebstoreError {}
export class StorageUnavailable extends WebstoreError {}
export class AuthenticationFailed extends StorageUnavailable {}
export class StoreClosed extends WebstoreError {}
export class IntegrityError extends WebstoreError {}
export class Conflict extends WebstoreError {}
export class RefMoved extends Conflict {}

const CLASSES = {
  WebstoreError, InvalidArgument, InvalidKey, KeyNotFound, UnsupportedValue, StorageFull,
  StorageUnavailable, AuthenticationFailed, StoreClosed, IntegrityError, Conflict, RefMoved,
};

/** The JS error for a Python error envelope `[false, name, message, fields]`. */
export function fromEnvelope([, name, message, fields]) {
  const Class = CLASSES[name];
  if (Class) return new Class(message, fields);
  const error = new Error(message); // a Python bug, not a webstore error: keep its name
  error.name = name;
  Object.assign(error, fields);
  return error;
}
