package gateway

import (
	"encoding/base64"
	"mime"
	"net/http"
	"net/url"
	"strings"
	"sync/atomic"
	"time"
)

const clfTime = "02/Jan/2006:15:04:05 -0700"

// appendV1 writes a REST proxy event (or an HTTP API payload 1.0 event).
func (g *Gateway) appendV1(b []byte, q *request) []byte {
	r := q.r
	httpAPI := q.route.Kind == HTTPAPI
	b = append(b, '{')
	if httpAPI {
		b = append(b, `"version":"1.0",`...)
	}
	b = appendKey(b, "resource")
	resource := q.route.Path
	if resource == "*" {
		resource = "$default"
	}
	b = appendString(b, resource)
	b = append(b, `,"path":`...)
	b = appendString(b, q.path)
	b = append(b, `,"httpMethod":`...)
	b = appendString(b, r.Method)
	b = append(b, `,"headers":`...)
	b = g.appendV1Headers(b, r)
	b = append(b, `,"multiValueHeaders":`...)
	b = appendMultiMap(b, hostHeaders(r), true)
	single, multi := queryMaps(r.URL.RawQuery)
	b = append(b, `,"queryStringParameters":`...)
	b = appendStringMap(b, single, true)
	b = append(b, `,"multiValueQueryStringParameters":`...)
	b = appendMultiMap(b, multi, true)
	b = append(b, `,"pathParameters":`...)
	b = appendStringMap(b, q.params, true)
	b = append(b, `,"stageVariables":null,"requestContext":{"accountId":`...)
	b = appendString(b, g.cfg.AccountID)
	b = append(b, `,"apiId":"offlineContext_apiId","domainName":`...)
	b = appendString(b, r.Host)
	b = append(b, `,"domainPrefix":`...)
	b = appendString(b, domainPrefix(r.Host))
	b = append(b, `,"extendedRequestId":`...)
	b = appendString(b, q.requestID)
	b = append(b, `,"httpMethod":`...)
	b = appendString(b, r.Method)
	b = append(b, `,"identity":{"accessKey":null,"accountId":null,"caller":null,"cognitoAuthenticationProvider":null,"cognitoAuthenticationType":null,"cognitoIdentityId":null,"cognitoIdentityPoolId":null,"principalOrgId":null,"sourceIp":`...)
	b = appendString(b, sourceIP(r))
	b = append(b, `,"user":null,"userAgent":`...)
	b = appendString(b, r.UserAgent())
	b = append(b, `,"userArn":null},"path":`...)
	b = appendString(b, r.URL.Path)
	b = append(b, `,"protocol":`...)
	b = appendString(b, r.Proto)
	b = append(b, `,"requestId":`...)
	b = appendString(b, q.requestID)
	b = append(b, `,"requestTime":`...)
	b = appendString(b, clf(q.now))
	b = append(b, `,"requestTimeEpoch":`...)
	b = appendInt(b, q.now.UnixMilli())
	b = append(b, `,"resourceId":"offlineContext_resourceId","resourcePath":`...)
	b = appendString(b, resource)
	b = append(b, `,"stage":`...)
	if httpAPI {
		b = append(b, `"$default"`...)
	} else {
		b = appendString(b, g.cfg.Stage)
	}
	if q.authJSON != nil {
		b = append(b, `,"authorizer":`...)
		b = append(b, q.authJSON...)
	}
	b = append(b, `},"body":`...)
	b64 := false
	if len(q.body) == 0 {
		b = append(b, "null"...)
	} else if (httpAPI && isBinary(r.Header.Get("Content-Type"))) || (!httpAPI && g.restBinary(r.Header.Get("Content-Type"))) {
		b64 = true
		b = appendBase64(b, q.body)
	} else {
		b = appendString(b, string(q.body))
	}
	if b64 {
		b = append(b, `,"isBase64Encoded":true}`...)
	} else {
		b = append(b, `,"isBase64Encoded":false}`...)
	}
	return b
}

// appendV1Headers writes the single-value header map (last value wins).
func (g *Gateway) appendV1Headers(b []byte, r *http.Request) []byte {
	b = append(b, '{')
	b = append(b, `"Host":`...)
	b = appendString(b, r.Host)
	for k, vs := range r.Header {
		b = append(b, ',')
		b = appendKey(b, k)
		b = appendString(b, vs[len(vs)-1])
	}
	return append(b, '}')
}

// hostHeaders is the request's headers plus Host, which net/http keeps apart.
func hostHeaders(r *http.Request) map[string][]string {
	m := make(map[string][]string, len(r.Header)+1)
	for k, v := range r.Header {
		m[k] = v
	}
	m["Host"] = []string{r.Host}
	return m
}

// appendV2 writes an HTTP API payload 2.0 event.
func (g *Gateway) appendV2(b []byte, q *request) []byte {
	r := q.r
	b = append(b, `{"version":"2.0","routeKey":`...)
	b = appendString(b, q.route.routeKey)
	b = append(b, `,"rawPath":`...)
	b = appendString(b, r.URL.EscapedPath())
	b = append(b, `,"rawQueryString":`...)
	b = appendString(b, r.URL.RawQuery)
	var cookies []string
	for _, c := range r.Header.Values("Cookie") {
		for _, part := range strings.Split(c, ";") {
			if part = strings.TrimSpace(part); part != "" {
				cookies = append(cookies, part)
			}
		}
	}
	if len(cookies) > 0 {
		b = append(b, `,"cookies":`...)
		b = appendStringArray(b, cookies)
	}
	b = append(b, `,"headers":{"host":`...)
	b = appendString(b, r.Host)
	for k, vs := range r.Header {
		if k == "Cookie" {
			continue
		}
		b = append(b, ',')
		b = appendKey(b, lowerHeader(k))
		if len(vs) == 1 {
			b = appendString(b, vs[0])
		} else {
			b = appendString(b, strings.Join(vs, ","))
		}
	}
	b = append(b, '}')
	if r.URL.RawQuery != "" {
		vals, _ := url.ParseQuery(r.URL.RawQuery)
		if len(vals) > 0 {
			b = append(b, `,"queryStringParameters":{`...)
			first := true
			for k, vs := range vals {
				if !first {
					b = append(b, ',')
				}
				first = false
				b = appendKey(b, k)
				b = appendString(b, strings.Join(vs, ","))
			}
			b = append(b, '}')
		}
	}
	if len(q.params) > 0 {
		b = append(b, `,"pathParameters":`...)
		b = appendStringMap(b, q.params, false)
	}
	b = append(b, `,"requestContext":{"accountId":`...)
	b = appendString(b, g.cfg.AccountID)
	b = append(b, `,"apiId":"offlineContext_apiId"`...)
	if q.authJSON != nil {
		b = append(b, `,"authorizer":`...)
		b = append(b, q.authJSON...)
	}
	b = append(b, `,"domainName":`...)
	b = appendString(b, r.Host)
	b = append(b, `,"domainPrefix":`...)
	b = appendString(b, domainPrefix(r.Host))
	b = append(b, `,"http":{"method":`...)
	b = appendString(b, r.Method)
	b = append(b, `,"path":`...)
	b = appendString(b, r.URL.Path)
	b = append(b, `,"protocol":`...)
	b = appendString(b, r.Proto)
	b = append(b, `,"sourceIp":`...)
	b = appendString(b, sourceIP(r))
	b = append(b, `,"userAgent":`...)
	b = appendString(b, r.UserAgent())
	b = append(b, `},"requestId":`...)
	b = appendString(b, q.requestID)
	b = append(b, `,"routeKey":`...)
	b = appendString(b, q.route.routeKey)
	b = append(b, `,"stage":"$default","time":`...)
	b = appendString(b, clf(q.now))
	b = append(b, `,"timeEpoch":`...)
	b = appendInt(b, q.now.UnixMilli())
	b = append(b, '}')
	if len(q.body) > 0 {
		b = append(b, `,"body":`...)
		if isBinary(r.Header.Get("Content-Type")) {
			b = appendBase64(b, q.body)
			return append(b, `,"isBase64Encoded":true}`...)
		}
		b = appendString(b, string(q.body))
	}
	return append(b, `,"isBase64Encoded":false}`...)
}

func appendBase64(b, data []byte) []byte {
	b = append(b, '"')
	b = base64.StdEncoding.AppendEncode(b, data)
	return append(b, '"')
}

func domainPrefix(host string) string {
	if i := strings.IndexAny(host, ".:"); i >= 0 {
		return host[:i]
	}
	return host
}

// isBinary reports whether an HTTP API passes a body of this content type
// base64-encoded: everything but text, JSON, XML, JavaScript and forms.
func isBinary(ct string) bool {
	if ct == "" {
		return false
	}
	mt, _, err := mime.ParseMediaType(ct)
	if err != nil {
		mt = strings.ToLower(ct)
	}
	switch {
	case strings.HasPrefix(mt, "text/"),
		mt == "application/json", mt == "application/javascript", mt == "application/xml",
		mt == "application/x-www-form-urlencoded", mt == "application/graphql",
		strings.HasSuffix(mt, "+json"), strings.HasSuffix(mt, "+xml"):
		return false
	}
	return true
}

// restBinary applies provider.apiGateway.binaryMediaTypes (wildcards
// like image/* and */* allowed).
func (g *Gateway) restBinary(ct string) bool {
	if ct == "" || len(g.cfg.BinaryMediaTypes) == 0 {
		return false
	}
	mt, _, err := mime.ParseMediaType(ct)
	if err != nil {
		mt = strings.ToLower(ct)
	}
	for _, t := range g.cfg.BinaryMediaTypes {
		t = strings.ToLower(t)
		if t == "*/*" || t == mt {
			return true
		}
		if strings.HasSuffix(t, "/*") && strings.HasPrefix(mt, t[:len(t)-1]) {
			return true
		}
	}
	return false
}

// clf formats a request time as API Gateway does; the text changes once a
// second, so the last one is kept.
func clf(t time.Time) string {
	sec := t.Unix()
	if c := clfCache.Load(); c != nil && c.sec == sec {
		return c.text
	}
	c := &clfEntry{sec: sec, text: t.UTC().Format(clfTime)}
	clfCache.Store(c)
	return c.text
}

type clfEntry struct {
	sec  int64
	text string
}

var clfCache atomic.Pointer[clfEntry]

// lowerHeader lower-cases a canonical header name, from a table for the
// common ones.
func lowerHeader(k string) string {
	if l, ok := commonLower[k]; ok {
		return l
	}
	return strings.ToLower(k)
}

var commonLower = func() map[string]string {
	m := map[string]string{}
	for _, h := range []string{"Accept", "Accept-Encoding", "Accept-Language", "Authorization", "Cache-Control", "Connection",
		"Content-Length", "Content-Type", "Cookie", "Origin", "Referer", "User-Agent", "X-Forwarded-For",
		"X-Forwarded-Proto", "X-Forwarded-Port", "X-Amzn-Trace-Id", "X-Api-Key", "X-Request-Id", "If-None-Match"} {
		m[h] = strings.ToLower(h)
	}
	return m
}()
