package gateway

import (
	"bytes"
	"encoding/json"
	"strings"
	"time"

	"github.com/nimbusfw/nimbus/internal/config"
	"github.com/nimbusfw/nimbus/internal/diag"
	"github.com/nimbusfw/nimbus/internal/service"
)

// DefaultRouteSelectionExpression is API Gateway's (and v3's) default
// provider.websocketsApiRouteSelectionExpression.
const DefaultRouteSelectionExpression = "$request.body.action"

// WebSocketRoute is one `websocket` event: a route key of the service's
// WebSocket API and the function behind it.
type WebSocketRoute struct {
	Key      string // "$connect", "$disconnect", "$default" or a custom key
	Function string
	// TwoWay routes (routeResponseSelectionExpression: $default) send the
	// handler's returned body back to the client, as API Gateway does for
	// routes with a route response.
	TwoWay bool
	// Authorizer guards $connect (Lambda REQUEST authorizer of this service).
	Authorizer *Authorizer
	// FunctionTimeout bounds one invocation (API Gateway's own limit is 29 s).
	FunctionTimeout time.Duration
}

// WebSocketRoutesFromService reads the websocket events and the route
// selection expression. An authorizer given by ARN cannot run locally; it
// is a warning and the route runs unguarded.
func WebSocketRoutesFromService(svc *service.Service) ([]*WebSocketRoute, string, diag.Diagnostics) {
	var ds diag.Diagnostics
	var routes []*WebSocketRoute
	expr := DefaultRouteSelectionExpression
	if n := svc.Provider.Raw.Get("websocketsApiRouteSelectionExpression"); n != nil {
		if s, ok := n.Str(); ok && s != "" {
			if _, err := parseSelectionExpression(s); err != nil {
				ds.Errorf(n.Pos, "provider.websocketsApiRouteSelectionExpression", "%v", err)
			}
			expr = s
		}
	}
	seen := map[string]string{}
	for _, fn := range svc.Functions {
		for _, ev := range fn.Events {
			if ev.Type != "websocket" {
				continue
			}
			path := "functions." + fn.Key + ".events." + itoa(ev.Index) + ".websocket"
			r := &WebSocketRoute{Function: fn.Key, FunctionTimeout: time.Duration(fn.Timeout) * time.Second}
			v := ev.Value
			pos := ev.Pos
			if v != nil {
				pos = v.Pos
			}
			if s, ok := v.Str(); ok {
				r.Key = s
			} else if v != nil && v.Kind == config.Map {
				r.Key = v.Get("route").Scalar0()
				r.TwoWay = v.Get("routeResponseSelectionExpression").Scalar0() == "$default"
				r.Authorizer = wsAuthorizerOf(svc, v.Get("authorizer"), path+".authorizer", r.Key, &ds)
			}
			if r.Key == "" {
				ds.Errorf(pos, path, `websocket event needs a route: "$connect", "$disconnect", "$default" or a route key`)
				continue
			}
			if prev, dup := seen[r.Key]; dup {
				ds.Errorf(pos, path, "route %q is already served by function %q; API Gateway allows one integration per route", r.Key, prev)
				continue
			}
			seen[r.Key] = fn.Key
			routes = append(routes, r)
		}
	}
	return routes, expr, ds
}

func wsAuthorizerOf(svc *service.Service, a *config.Node, path, route string, ds *diag.Diagnostics) *Authorizer {
	if a == nil || !a.Truthy() {
		return nil
	}
	if route != "$connect" {
		ds.Warnf(a.Pos, path, "API Gateway runs WebSocket authorizers on $connect only; this one is ignored")
		return nil
	}
	name := ""
	identity := []string{"route.request.header.Auth"}
	if s, ok := a.Str(); ok {
		name = s
	} else if a.Kind == config.Map {
		if a.Get("arn").Truthy() {
			ds.Warnf(a.Pos, path, "an authorizer given by ARN cannot run locally; $connect is not guarded in nimbus dev")
			return nil
		}
		name = a.Get("name").Scalar0()
		if is := a.Get("identitySource"); is != nil {
			identity = nil
			if s, ok := is.Str(); ok {
				identity = strings.Split(s, ",")
			}
			for _, it := range is.Items {
				identity = append(identity, it.Scalar0())
			}
		}
	}
	if strings.HasPrefix(name, "arn:") {
		ds.Warnf(a.Pos, path, "an authorizer given by ARN cannot run locally; $connect is not guarded in nimbus dev")
		return nil
	}
	if svc.Function(name) == nil {
		ds.Errorf(a.Pos, path, "authorizer function %q is not defined in this service", name)
		return nil
	}
	var sources []string
	for _, s := range identity {
		// route.request.* is the WebSocket spelling of $request.*.
		s = strings.TrimSpace(s)
		if rest, ok := strings.CutPrefix(s, "route.request."); ok {
			s = "$request." + rest
		}
		sources = append(sources, s)
	}
	return &Authorizer{Name: name, Type: "REQUEST", Function: name, IdentitySource: sources}
}

// selectionExpression is a parsed route selection expression: literal
// text and $request.body.* lookups, concatenated.
type selectionExpression []selectionPart

type selectionPart struct {
	literal string
	path    []string // body keys; nil for a literal
}

type expressionError string

func (e expressionError) Error() string { return string(e) }

// parseSelectionExpression reads API Gateway's selection expression
// syntax: $request.body.a.b or ${request.body.a.b}, literal text around
// them, and \$ for a literal dollar sign.
func parseSelectionExpression(s string) (selectionExpression, error) {
	var out selectionExpression
	var lit strings.Builder
	flush := func() {
		if lit.Len() > 0 {
			out = append(out, selectionPart{literal: lit.String()})
			lit.Reset()
		}
	}
	for i := 0; i < len(s); {
		switch {
		case s[i] == '\\' && i+1 < len(s) && s[i+1] == '$':
			lit.WriteByte('$')
			i += 2
		case s[i] == '$':
			var name string
			if strings.HasPrefix(s[i:], "${") {
				end := strings.IndexByte(s[i:], '}')
				if end < 0 {
					return nil, expressionError("route selection expression " + quote(s) + " has an unclosed ${")
				}
				name, i = s[i+2:i+end], i+end+1
			} else {
				j := i + 1
				for j < len(s) && (isWordByte(s[j]) || s[j] == '.') {
					j++
				}
				for j > i+1 && s[j-1] == '.' {
					j-- // a trailing dot ends the sentence, not the key
				}
				name, i = s[i+1:j], j
			}
			rest, ok := strings.CutPrefix(name, "request.body.")
			if !ok || rest == "" {
				return nil, expressionError("route selection expression " + quote(s) + ": only $request.body.<key> variables are supported, not $" + name)
			}
			flush()
			out = append(out, selectionPart{path: strings.Split(rest, ".")})
		default:
			lit.WriteByte(s[i])
			i++
		}
	}
	flush()
	return out, nil
}

func isWordByte(c byte) bool {
	return c == '_' || c == '-' || c >= '0' && c <= '9' || c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z'
}

func quote(s string) string { b, _ := json.Marshal(s); return string(b) }

// routeKey evaluates the expression against a message body. ok is false
// when the body is not a JSON object or a variable is missing or not a
// scalar: API Gateway then uses $default.
func (e selectionExpression) routeKey(body []byte) (string, bool) {
	var doc map[string]any
	dec := json.NewDecoder(bytes.NewReader(body))
	dec.UseNumber()
	if err := dec.Decode(&doc); err != nil || doc == nil {
		return "", false
	}
	var b strings.Builder
	for _, p := range e {
		if p.path == nil {
			b.WriteString(p.literal)
			continue
		}
		var cur any = doc
		for _, k := range p.path {
			m, ok := cur.(map[string]any)
			if !ok {
				return "", false
			}
			if cur, ok = m[k]; !ok {
				return "", false
			}
		}
		switch v := cur.(type) {
		case string:
			b.WriteString(v)
		case json.Number:
			b.WriteString(v.String())
		case bool:
			if v {
				b.WriteString("true")
			} else {
				b.WriteString("false")
			}
		default:
			return "", false
		}
	}
	return b.String(), true
}
