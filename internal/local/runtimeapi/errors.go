package runtimeapi

import (
	"encoding/base64"
	"encoding/json"
)

// ErrorDoc is Lambda's error document, as runtimes post it and as callers
// receive it for a failed invocation.
type ErrorDoc struct {
	ErrorMessage string   `json:"errorMessage"`
	ErrorType    string   `json:"errorType"`
	StackTrace   []string `json:"stackTrace,omitempty"`
}

// ErrorPayload encodes an error document the way Lambda returns it.
func ErrorPayload(errType, msg string) []byte { return errorDoc(errType, msg) }

func errorDoc(errType, msg string) []byte {
	b, _ := json.Marshal(ErrorDoc{ErrorMessage: msg, ErrorType: errType})
	return b
}

// decodeTrailerBody undoes aws-lambda-go's base64 wrapping of the error
// document it sends in the Lambda-Runtime-Function-Error-Body trailer.
func decodeTrailerBody(s string) []byte {
	if b, err := base64.StdEncoding.DecodeString(s); err == nil && json.Valid(b) {
		return b
	}
	return errorDoc("Runtime.Unknown", s)
}
