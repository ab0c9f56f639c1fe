package gateway

import (
	"bytes"
	"encoding/base64"
	"net/http"
	"strconv"
	"strings"
)

// writeV1Response maps a REST (or payload 1.0) response; anything that is
// not a proxy response object with a status code is a 502, as on AWS.
func writeV1Response(w http.ResponseWriter, payload []byte) {
	p := bytes.TrimSpace(payload)
	if len(p) == 0 || p[0] != '{' {
		writeMessage(w, http.StatusBadGateway, "Internal server error")
		return
	}
	pf, ok := parseProxy(p)
	if !ok || !pf.hasStatus {
		writeMessage(w, http.StatusBadGateway, "Internal server error")
		return
	}
	writeProxy(w, &pf, false)
}

// writeV2Response maps a payload 2.0 response, inferring one when the
// handler returned something other than {statusCode, ...}: a string becomes
// the body, any other JSON value the JSON body, both with status 200.
func writeV2Response(w http.ResponseWriter, payload []byte) {
	p := bytes.TrimSpace(payload)
	if len(p) > 0 && p[0] == '{' {
		pf, ok := parseProxy(p)
		if !ok {
			writeMessage(w, http.StatusBadGateway, "Internal server error")
			return
		}
		if pf.hasStatus {
			writeProxy(w, &pf, true)
			return
		}
	}
	h := w.Header()
	h["Content-Type"] = jsonContentType
	if len(p) > 0 && p[0] == '"' {
		r := &reader{b: p}
		if s, ok := r.strBytes(); ok && r.peek() == 0 {
			w.WriteHeader(http.StatusOK)
			w.Write(s)
			return
		}
	}
	w.WriteHeader(http.StatusOK)
	if len(p) == 0 || string(p) == "null" {
		return
	}
	w.Write(p)
}

var jsonContentType = []string{"application/json"}

func writeProxy(w http.ResponseWriter, pf *proxyFields, v2 bool) {
	code, err := strconv.Atoi(strings.TrimSpace(pf.status))
	if err != nil || code < 100 || code > 599 {
		writeMessage(w, http.StatusBadGateway, "Internal server error")
		return
	}
	var body []byte
	switch pf.bodyKind {
	case 's':
		body = pf.body
		if pf.base64 {
			dec, err := base64.StdEncoding.AppendDecode(nil, pf.body)
			if err != nil {
				writeMessage(w, http.StatusBadGateway, "Internal server error")
				return
			}
			body = dec
		}
	case 'x':
		// API Gateway requires a string body; a handler returning an object
		// there forgot JSON.stringify/json.dumps.
		writeMessage(w, http.StatusBadGateway, "Internal server error")
		return
	}
	h := w.Header()
	for _, kv := range pf.headers {
		h.Add(kv[0], kv[1])
	}
	for _, kv := range pf.multi {
		h.Add(kv[0], kv[1])
	}
	if v2 {
		for _, c := range pf.cookies {
			h.Add("Set-Cookie", c)
		}
	}
	if len(h["Content-Type"]) == 0 {
		h["Content-Type"] = jsonContentType
	}
	h["Content-Length"] = []string{strconv.Itoa(len(body))}
	w.WriteHeader(code)
	w.Write(body)
}
