package gateway

import (
	"bytes"
	"context"
	"crypto"
	"crypto/rsa"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"errors"
	"math/big"
	"net/http"
	"strings"
	"sync"
	"time"
)

// authorizers runs Lambda authorizers through the invoker, verifies JWTs
// and caches decisions for each authorizer's resultTtlInSeconds.
type authorizers struct {
	g     *Gateway
	mu    sync.Mutex
	cache map[string]cachedDecision
	jwks  map[string]*jwksEntry
}

type cachedDecision struct {
	until time.Time
	dec   *decision
}

// decision is what a Lambda authorizer answered.
type decision struct {
	simple      bool
	allowed     bool // simple responses
	principalID string
	statements  []statement
	context     json.RawMessage
}

type statement struct {
	effect    string
	actions   []string
	resources []string
}

type jwksEntry struct {
	fetched time.Time
	keys    map[string]*rsa.PublicKey
	err     error
}

func newAuthorizers(g *Gateway) *authorizers {
	return &authorizers{g: g, cache: map[string]cachedDecision{}, jwks: map[string]*jwksEntry{}}
}

// authorize runs the route's authorizer; on refusal it writes API
// Gateway's answer and returns false. On success it sets q.authJSON.
func (a *authorizers) authorize(ctx context.Context, w http.ResponseWriter, q *request) bool {
	au := q.route.Authorizer
	if au.Type == "JWT" {
		return a.jwt(w, q)
	}
	identity, ok := identityValues(au.IdentitySource, q)
	if !ok {
		writeMessage(w, http.StatusUnauthorized, "Unauthorized")
		return false
	}
	arn := a.methodArn(q)
	key := au.Name + "\x00" + strings.Join(identity, "\x00")
	if au.Type == "REQUEST" && len(au.IdentitySource) == 0 {
		key = "" // without identity sources API Gateway cannot cache
	}
	var dec *decision
	if key != "" && au.ResultTTL > 0 {
		a.mu.Lock()
		if c, ok := a.cache[key]; ok && q.now.Before(c.until) {
			dec = c.dec
		}
		a.mu.Unlock()
	}
	if dec == nil {
		ev := a.event(au, q, arn, identity)
		res, err := a.g.cfg.Invoker.Invoke(ctx, au.Function, ev)
		if err != nil {
			writeInvokeError(w, err)
			return false
		}
		if res.FunctionError != "" {
			if bytes.Contains(res.Payload, []byte(`"Unauthorized"`)) {
				writeMessage(w, http.StatusUnauthorized, "Unauthorized")
			} else {
				writeMessage(w, http.StatusInternalServerError, "Internal server error")
			}
			return false
		}
		dec, err = parseDecision(res.Payload, au.SimpleResponses)
		if err != nil {
			writeMessage(w, http.StatusInternalServerError, "Internal server error")
			return false
		}
		if key != "" && au.ResultTTL > 0 {
			a.mu.Lock()
			a.cache[key] = cachedDecision{until: q.now.Add(au.ResultTTL), dec: dec}
			a.mu.Unlock()
		}
	}
	if dec.simple {
		if !dec.allowed {
			writeMessage(w, http.StatusForbidden, "Forbidden")
			return false
		}
	} else if msg := dec.evaluate(arn); msg != "" {
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(http.StatusForbidden)
		w.Write(appendString([]byte(`{"Message":`), msg))
		w.Write([]byte("}"))
		return false
	}
	q.authJSON = dec.requestContext(q.route)
	return true
}

// requestContext builds requestContext.authorizer for the function's event.
func (d *decision) requestContext(r *Route) []byte {
	ctx := d.context
	if len(bytes.TrimSpace(ctx)) == 0 || bytes.Equal(bytes.TrimSpace(ctx), []byte("null")) {
		ctx = json.RawMessage("{}")
	}
	if r.Kind == HTTPAPI && r.Payload == "2.0" {
		return append(append([]byte(`{"lambda":`), ctx...), '}')
	}
	// REST: the context's keys sit beside principalId, and API Gateway
	// hands numbers and booleans over as strings.
	b := []byte(`{"principalId":`)
	b = appendString(b, d.principalID)
	var fields map[string]json.RawMessage
	json.Unmarshal(ctx, &fields)
	for k, v := range fields {
		b = append(b, ',')
		b = appendKey(b, k)
		b = appendString(b, rawString(v))
	}
	b = append(b, `,"integrationLatency":0}`...)
	return b
}

// evaluate applies the IAM policy to the method ARN: an explicit Deny
// wins, then an Allow; the message is empty when access is allowed.
func (d *decision) evaluate(arn string) string {
	allowed := false
	for _, s := range d.statements {
		if !matchAny(s.actions, "execute-api:Invoke") || !matchAny(s.resources, arn) {
			continue
		}
		if strings.EqualFold(s.effect, "Deny") {
			return "User is not authorized to access this resource with an explicit deny"
		}
		if strings.EqualFold(s.effect, "Allow") {
			allowed = true
		}
	}
	if !allowed {
		return "User is not authorized to access this resource"
	}
	return ""
}

func matchAny(patterns []string, s string) bool {
	for _, p := range patterns {
		if globMatch(p, s) {
			return true
		}
	}
	return false
}

// globMatch matches IAM wildcards: * any run of characters, ? one character.
func globMatch(p, s string) bool {
	for len(p) > 0 {
		switch p[0] {
		case '*':
			for len(p) > 0 && p[0] == '*' {
				p = p[1:]
			}
			if p == "" {
				return true
			}
			for i := 0; i <= len(s); i++ {
				if globMatch(p, s[i:]) {
					return true
				}
			}
			return false
		case '?':
			if s == "" {
				return false
			}
			p, s = p[1:], s[1:]
		default:
			if s == "" || p[0] != s[0] {
				return false
			}
			p, s = p[1:], s[1:]
		}
	}
	return s == ""
}

func parseDecision(payload []byte, simple bool) (*decision, error) {
	var raw struct {
		IsAuthorized   *bool           `json:"isAuthorized"`
		PrincipalID    json.RawMessage `json:"principalId"`
		PolicyDocument *struct {
			Statement json.RawMessage `json:"Statement"`
		} `json:"policyDocument"`
		Context json.RawMessage `json:"context"`
	}
	if err := json.Unmarshal(payload, &raw); err != nil {
		return nil, err
	}
	d := &decision{context: raw.Context, principalID: rawString(raw.PrincipalID)}
	if simple && raw.IsAuthorized != nil {
		d.simple, d.allowed = true, *raw.IsAuthorized
		return d, nil
	}
	if raw.PolicyDocument == nil {
		return nil, errors.New("authorizer response has neither isAuthorized nor policyDocument")
	}
	var stmts []json.RawMessage
	st := bytes.TrimSpace(raw.PolicyDocument.Statement)
	if len(st) > 0 && st[0] == '{' {
		stmts = []json.RawMessage{st}
	} else if err := json.Unmarshal(st, &stmts); err != nil {
		return nil, err
	}
	for _, s := range stmts {
		var one struct {
			Effect   string          `json:"Effect"`
			Action   json.RawMessage `json:"Action"`
			Resource json.RawMessage `json:"Resource"`
		}
		if err := json.Unmarshal(s, &one); err != nil {
			return nil, err
		}
		d.statements = append(d.statements, statement{effect: one.Effect, actions: stringOrList(one.Action), resources: stringOrList(one.Resource)})
	}
	return d, nil
}

func stringOrList(raw json.RawMessage) []string {
	var one string
	if json.Unmarshal(raw, &one) == nil {
		return []string{one}
	}
	var many []string
	json.Unmarshal(raw, &many)
	return many
}

// methodArn is the ARN an authorizer's policy is checked against.
func (a *authorizers) methodArn(q *request) string {
	stage := a.g.cfg.Stage
	if q.route.Kind == HTTPAPI {
		stage = "$default"
	}
	return "arn:aws:execute-api:" + a.g.cfg.Region + ":" + a.g.cfg.AccountID + ":offlineContext_apiId/" + stage + "/" + q.r.Method + q.path
}

// event builds the authorizer's input: TOKEN events are small; REQUEST
// events are the route's own event plus type and ARN fields.
func (a *authorizers) event(au *Authorizer, q *request, arn string, identity []string) []byte {
	if au.Type == "TOKEN" {
		b := []byte(`{"type":"TOKEN","authorizationToken":`)
		tok := ""
		if len(identity) > 0 {
			tok = identity[0]
		}
		b = appendString(b, tok)
		b = append(b, `,"methodArn":`...)
		b = appendString(b, arn)
		return append(b, '}')
	}
	var base []byte
	head := []byte(`{"type":"REQUEST",`)
	if q.route.Kind == HTTPAPI && au.PayloadVersion == "2.0" {
		base = a.g.appendV2(nil, q)
		head = append(head, `"routeArn":`...)
		head = appendString(head, arn)
		head = append(head, `,"identitySource":`...)
		head = appendStringArray(head, identity)
		head = append(head, ',')
	} else {
		base = a.g.appendV1(nil, q)
		head = append(head, `"methodArn":`...)
		head = appendString(head, arn)
		head = append(head, ',')
	}
	return append(head, base[1:]...)
}

// identityValues reads the identity sources; ok is false when one is missing.
func identityValues(sources []string, q *request) ([]string, bool) {
	var out []string
	for _, s := range sources {
		var v string
		switch {
		case strings.HasPrefix(s, "method.request.header."):
			v = q.r.Header.Get(strings.TrimPrefix(s, "method.request.header."))
		case strings.HasPrefix(s, "$request.header."):
			v = q.r.Header.Get(strings.TrimPrefix(s, "$request.header."))
		case strings.HasPrefix(s, "method.request.querystring."):
			v = q.r.URL.Query().Get(strings.TrimPrefix(s, "method.request.querystring."))
		case strings.HasPrefix(s, "$request.querystring."):
			v = q.r.URL.Query().Get(strings.TrimPrefix(s, "$request.querystring."))
		default:
			continue
		}
		if v == "" {
			return nil, false
		}
		out = append(out, v)
	}
	return out, true
}

// jwt verifies a JWT authorizer's token: signature (RS256 against the
// issuer's JWKS when it can be fetched), issuer, audience, expiry and the
// route's scopes.
func (a *authorizers) jwt(w http.ResponseWriter, q *request) bool {
	au := q.route.Authorizer
	ids, ok := identityValues(au.IdentitySource, q)
	if !ok || len(ids) == 0 {
		writeMessage(w, http.StatusUnauthorized, "Unauthorized")
		return false
	}
	tok := strings.TrimSpace(ids[0])
	if len(tok) > 7 && strings.EqualFold(tok[:7], "bearer ") {
		tok = strings.TrimSpace(tok[7:])
	}
	claims, scopes, err := a.verifyJWT(tok, au, q.now)
	if err != nil {
		writeMessage(w, http.StatusUnauthorized, "Unauthorized")
		return false
	}
	if len(q.route.Scopes) > 0 {
		found := false
		for _, want := range q.route.Scopes {
			for _, have := range scopes {
				if want == have {
					found = true
				}
			}
		}
		if !found {
			writeMessage(w, http.StatusForbidden, "Forbidden")
			return false
		}
	}
	b := []byte(`{"jwt":{"claims":`)
	b = append(b, claims...)
	b = append(b, `,"scopes":`...)
	if len(scopes) == 0 {
		b = append(b, "null"...)
	} else {
		b = appendStringArray(b, scopes)
	}
	b = append(b, `}}`...)
	if q.route.Payload == "1.0" {
		b = append(append([]byte(`{"claims":`), claims...), '}')
	}
	q.authJSON = b
	return true
}

var errJWT = errors.New("invalid token")

// errSignatureIgnored skips the signature check without fetching keys.
var errSignatureIgnored = errors.New("signature not checked")

func (a *authorizers) verifyJWT(tok string, au *Authorizer, now time.Time) (json.RawMessage, []string, error) {
	parts := strings.Split(tok, ".")
	if len(parts) != 3 {
		return nil, nil, errJWT
	}
	hb, err1 := base64.RawURLEncoding.DecodeString(parts[0])
	pb, err2 := base64.RawURLEncoding.DecodeString(parts[1])
	sig, err3 := base64.RawURLEncoding.DecodeString(parts[2])
	if err1 != nil || err2 != nil || err3 != nil {
		return nil, nil, errJWT
	}
	var hdr struct {
		Alg string `json:"alg"`
		Kid string `json:"kid"`
	}
	if json.Unmarshal(hb, &hdr) != nil {
		return nil, nil, errJWT
	}
	var claims struct {
		Iss      string          `json:"iss"`
		Aud      json.RawMessage `json:"aud"`
		ClientID string          `json:"client_id"`
		Exp      *float64        `json:"exp"`
		Nbf      *float64        `json:"nbf"`
		Scope    string          `json:"scope"`
		Scp      json.RawMessage `json:"scp"`
	}
	if json.Unmarshal(pb, &claims) != nil {
		return nil, nil, errJWT
	}
	if au.IssuerURL != "" {
		var keys map[string]*rsa.PublicKey
		err := errSignatureIgnored
		if !a.g.cfg.IgnoreJWTSignature {
			keys, err = a.keys(au.IssuerURL, now)
		}
		if err == nil {
			if hdr.Alg != "RS256" {
				return nil, nil, errJWT
			}
			key := keys[hdr.Kid]
			if key == nil && hdr.Kid == "" && len(keys) == 1 {
				for _, k := range keys {
					key = k
				}
			}
			if key == nil {
				return nil, nil, errJWT
			}
			sum := sha256.Sum256([]byte(parts[0] + "." + parts[1]))
			if rsa.VerifyPKCS1v15(key, crypto.SHA256, sum[:], sig) != nil {
				return nil, nil, errJWT
			}
		}
		if strings.TrimRight(claims.Iss, "/") != strings.TrimRight(au.IssuerURL, "/") {
			return nil, nil, errJWT
		}
	}
	if len(au.Audience) > 0 {
		auds := stringOrList(claims.Aud)
		if claims.ClientID != "" {
			auds = append(auds, claims.ClientID)
		}
		ok := false
		for _, want := range au.Audience {
			for _, have := range auds {
				ok = ok || want == have
			}
		}
		if !ok {
			return nil, nil, errJWT
		}
	}
	sec := float64(now.Unix())
	if claims.Exp == nil || *claims.Exp <= sec {
		return nil, nil, errJWT
	}
	if claims.Nbf != nil && *claims.Nbf > sec {
		return nil, nil, errJWT
	}
	scopes := strings.Fields(claims.Scope)
	if len(claims.Scp) > 0 {
		scopes = append(scopes, stringOrList(claims.Scp)...)
	}
	return json.RawMessage(pb), scopes, nil
}

// keys returns the issuer's RSA keys by kid, fetched at most once a minute.
func (a *authorizers) keys(issuer string, now time.Time) (map[string]*rsa.PublicKey, error) {
	a.mu.Lock()
	e := a.jwks[issuer]
	a.mu.Unlock()
	if e != nil && now.Sub(e.fetched) < time.Minute {
		return e.keys, e.err
	}
	e = &jwksEntry{fetched: now}
	e.keys, e.err = fetchJWKS(a.g.cfg.HTTPClient, strings.TrimRight(issuer, "/")+"/.well-known/jwks.json")
	if e.err != nil && a.g.cfg.Log != nil {
		a.g.cfg.Log("JWT authorizer: cannot fetch the issuer's JWKS (" + e.err.Error() + "); checking claims without the signature")
	}
	a.mu.Lock()
	a.jwks[issuer] = e
	a.mu.Unlock()
	return e.keys, e.err
}

func fetchJWKS(c *http.Client, url string) (map[string]*rsa.PublicKey, error) {
	resp, err := c.Get(url)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	if resp.StatusCode != 200 {
		return nil, errors.New(resp.Status)
	}
	var doc struct {
		Keys []struct {
			Kty, Kid, N, E string
		} `json:"keys"`
	}
	if err := json.NewDecoder(resp.Body).Decode(&doc); err != nil {
		return nil, err
	}
	keys := map[string]*rsa.PublicKey{}
	for _, k := range doc.Keys {
		if k.Kty != "RSA" {
			continue
		}
		nb, err1 := base64.RawURLEncoding.DecodeString(k.N)
		eb, err2 := base64.RawURLEncoding.DecodeString(k.E)
		if err1 != nil || err2 != nil {
			continue
		}
		keys[k.Kid] = &rsa.PublicKey{N: new(big.Int).SetBytes(nb), E: int(new(big.Int).SetBytes(eb).Int64())}
	}
	return keys, nil
}

// rawString renders a JSON value as text: strings decoded, others as written.
func rawString(v json.RawMessage) string {
	v = bytes.TrimSpace(v)
	if len(v) > 0 && v[0] == '"' {
		var s string
		if json.Unmarshal(v, &s) == nil {
			return s
		}
	}
	return string(v)
}
