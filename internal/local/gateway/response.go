package gateway

import (
	"bytes"
	"encoding/base64"
	"encoding/json"
	"net/http"
	"strconv"
	"strings"
)

// proxyResponse is a Lambda proxy integration response. Header values and
// the status code stay raw because handlers send numbers, booleans and
// strings there and API Gateway accepts them all.
type proxyResponse struct {
	StatusCode        json.RawMessage              `json:"statusCode"`
	Headers           map[string]json.RawMessage   `json:"headers"`
	MultiValueHeaders map[string][]json.RawMessage `json:"multiValueHeaders"`
	Body              json.RawMessage              `json:"body"`
	IsBase64Encoded   bool                         `json:"isBase64Encoded"`
	Cookies           []string                     `json:"cookies"`
}

// writeV1Response maps a REST (or payload 1.0) response; anything that is
// not a proxy response object with a status code is a 502, as on AWS.
func writeV1Response(w http.ResponseWriter, payload []byte) {
	var pr proxyResponse
	p := bytes.TrimSpace(payload)
	if len(p) == 0 || p[0] != '{' || json.Unmarshal(p, &pr) != nil {
		writeMessage(w, http.StatusBadGateway, "Internal server error")
		return
	}
	code, ok := statusCode(pr.StatusCode)
	if !ok {
		writeMessage(w, http.StatusBadGateway, "Internal server error")
		return
	}
	writeProxy(w, code, &pr, false)
}

// writeV2Response maps a payload 2.0 response, inferring one when the
// handler returned something other than {statusCode, ...}: a string becomes
// the body, any other JSON value the JSON body, both with status 200.
func writeV2Response(w http.ResponseWriter, payload []byte) {
	p := bytes.TrimSpace(payload)
	var pr proxyResponse
	if len(p) > 0 && p[0] == '{' {
		if json.Unmarshal(p, &pr) != nil {
			writeMessage(w, http.StatusBadGateway, "Internal server error")
			return
		}
		if pr.StatusCode != nil {
			code, ok := statusCode(pr.StatusCode)
			if !ok {
				writeMessage(w, http.StatusBadGateway, "Internal server error")
				return
			}
			writeProxy(w, code, &pr, true)
			return
		}
	}
	h := w.Header()
	h.Set("Content-Type", "application/json")
	if len(p) > 0 && p[0] == '"' {
		var s string
		if json.Unmarshal(p, &s) == nil {
			w.WriteHeader(http.StatusOK)
			w.Write([]byte(s))
			return
		}
	}
	if len(p) == 0 || bytes.Equal(p, []byte("null")) {
		w.WriteHeader(http.StatusOK)
		return
	}
	w.WriteHeader(http.StatusOK)
	w.Write(p)
}

func statusCode(raw json.RawMessage) (int, bool) {
	s := string(bytes.Trim(bytes.TrimSpace(raw), `"`))
	if s == "" {
		return 0, false
	}
	n, err := strconv.Atoi(s)
	if err != nil || n < 100 || n > 599 {
		return 0, false
	}
	return n, true
}

func writeProxy(w http.ResponseWriter, code int, pr *proxyResponse, v2 bool) {
	h := w.Header()
	for k, v := range pr.Headers {
		h.Add(k, rawString(v))
	}
	for k, vs := range pr.MultiValueHeaders {
		for _, v := range vs {
			h.Add(k, rawString(v))
		}
	}
	if v2 {
		for _, c := range pr.Cookies {
			h.Add("Set-Cookie", c)
		}
	}
	if h.Get("Content-Type") == "" {
		h.Set("Content-Type", "application/json")
	}
	var body []byte
	b := bytes.TrimSpace(pr.Body)
	switch {
	case len(b) == 0 || bytes.Equal(b, []byte("null")):
	case b[0] == '"':
		var s string
		if json.Unmarshal(b, &s) != nil {
			writeMessage(w, http.StatusBadGateway, "Internal server error")
			return
		}
		body = []byte(s)
		if pr.IsBase64Encoded {
			dec, err := base64.StdEncoding.DecodeString(s)
			if err != nil {
				writeMessage(w, http.StatusBadGateway, "Internal server error")
				return
			}
			body = dec
		}
	default:
		// API Gateway requires a string body; a handler returning an object
		// there forgot JSON.stringify/json.dumps.
		writeMessage(w, http.StatusBadGateway, "Internal server error")
		return
	}
	h.Set("Content-Length", strconv.Itoa(len(body)))
	w.WriteHeader(code)
	w.Write(body)
}

func rawString(v json.RawMessage) string {
	v = bytes.TrimSpace(v)
	if len(v) > 0 && v[0] == '"' {
		var s string
		if json.Unmarshal(v, &s) == nil {
			return s
		}
	}
	return strings.TrimSpace(string(v))
}
