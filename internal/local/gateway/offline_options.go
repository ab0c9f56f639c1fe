package gateway

import (
	"net/http"
	"strings"
)

// OfflineCORS carries serverless-offline's --corsAllowOrigin,
// --corsAllowHeaders, --corsExposedHeaders and --corsDisallowCredentials.
// A nil list or nil Credentials means the option was not given, and API
// Gateway's own defaults stay.
type OfflineCORS struct {
	Origins, Headers, ExposedHeaders []string
	// Credentials is the opposite of corsDisallowCredentials.
	Credentials *bool
}

// IsZero reports that no option was given.
func (o OfflineCORS) IsZero() bool {
	return o.Origins == nil && o.Headers == nil && o.ExposedHeaders == nil && o.Credentials == nil
}

// Apply gives the options to REST routes with their own cors setting, as
// serverless-offline does: origins and headers the event does not name
// come from the options, exposed headers always do, and credentials are
// allowed when the event or the options allow them. Routes without cors
// and HTTP API routes (configured by provider.httpApi.cors) are left
// alone, as the plugin leaves them.
func (o OfflineCORS) Apply(routes []*Route) {
	if o.IsZero() {
		return
	}
	for _, r := range routes {
		if r.Kind != REST || r.CORS == nil {
			continue
		}
		c := *r.CORS
		if o.Origins != nil && !c.OwnOrigins {
			c.Origins = o.Origins
		}
		if o.Headers != nil && !c.OwnHeaders {
			c.Headers = o.Headers
		}
		if o.ExposedHeaders != nil {
			c.ExposedHeaders = o.ExposedHeaders
		}
		if o.Credentials != nil && *o.Credentials {
			c.AllowCredentials = true
		}
		r.CORS = &c
	}
}

// SplitCORSList reads a comma-separated option the way serverless-offline
// does: spaces removed, split at commas, empty items dropped.
func SplitCORSList(s string) []string {
	out := []string{}
	for _, p := range strings.Split(strings.ReplaceAll(s, " ", ""), ",") {
		if p != "" {
			out = append(out, p)
		}
	}
	return out
}

// secureCookies marks every cookie a function sets Secure and HttpOnly
// (serverless-offline's --enforceSecureCookies) before the headers go out.
type secureCookies struct {
	http.ResponseWriter
	done bool
}

func (s *secureCookies) WriteHeader(code int) {
	if !s.done {
		s.done = true
		h := s.ResponseWriter.Header()
		for i, c := range h["Set-Cookie"] {
			h["Set-Cookie"][i] = enforceSecure(c)
		}
	}
	s.ResponseWriter.WriteHeader(code)
}

func (s *secureCookies) Write(b []byte) (int, error) {
	if !s.done {
		s.WriteHeader(http.StatusOK)
	}
	return s.ResponseWriter.Write(b)
}

// enforceSecure adds the Secure and HttpOnly attributes a cookie lacks.
func enforceSecure(cookie string) string {
	var secure, httpOnly bool
	parts := strings.Split(cookie, ";")
	for _, attr := range parts[1:] {
		name, _, _ := strings.Cut(strings.TrimSpace(attr), "=")
		switch strings.ToLower(name) {
		case "secure":
			secure = true
		case "httponly":
			httpOnly = true
		}
	}
	if !secure {
		cookie += "; Secure"
	}
	if !httpOnly {
		cookie += "; HttpOnly"
	}
	return cookie
}
