// Stable reason codes for records that cannot become events. They label the dead-letter topic and the metrics,
// so they never change meaning; add new ones rather than reusing old ones.

export const REASON_CODES = {
  empty: 'the record is empty or only whitespace',
  too_large: 'the record is larger than the configured maximum size',
  invalid_utf8: 'the record is not valid UTF-8',
  invalid_json: 'the record is not valid JSON',
  not_an_object: 'the record is JSON but not an object (or an array of objects)',
  forbidden_key: 'the record uses __proto__, constructor or prototype as a key',
  batch_too_large: 'a batch array holds more records than the configured maximum',
  missing_field: 'a field the format requires is absent',
  invalid_field: 'a field has the wrong type or an unusable value',
  timestamp_out_of_range: 'the event time is implausibly far in the past or future',
  too_deep: 'objects and arrays are nested deeper than the configured maximum (a crafted record; never parsed)',
  unprocessable:
    'a stage could not process the record (a defect, or a record on an ' +
    'internal topic that vigil did not write); skipped so the stage goes on',
} as const;

export type ReasonCode = keyof typeof REASON_CODES;
export const REASON_CODE_LIST = Object.keys(REASON_CODES) as ReasonCode[];
