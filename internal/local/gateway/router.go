package gateway

import "strings"

// router finds the route for a request. Fully static paths are looked up in
// a map built once; only routes with parameters are scanned, and among
// several matches the most specific wins the way API Gateway picks them:
// segment by segment literal beats {param} beats {greedy+}, and an exact
// method beats ANY.
type router struct {
	static  map[string]*Route // "METHOD /path"
	dynamic []*Route
	// catchAll is HTTP API's $default route.
	catchAll *Route
}

func newRouter(routes []*Route) *router {
	rt := &router{static: map[string]*Route{}}
	for _, r := range routes {
		if r.Path == "*" {
			rt.catchAll = r
			continue
		}
		if isStatic(r.segments) {
			rt.static[r.Method+" "+r.Path] = r
			continue
		}
		rt.dynamic = append(rt.dynamic, r)
	}
	return rt
}

func isStatic(segs []segment) bool {
	for _, s := range segs {
		if s.param != "" {
			return false
		}
	}
	return true
}

// match returns the route for method and path (path starts with "/") and
// its path parameters (nil when it has none); nil when nothing matches.
func (rt *router) match(method, path string) (*Route, map[string]string) {
	clean := path
	if len(clean) > 1 && clean[len(clean)-1] == '/' {
		clean = strings.TrimRight(clean, "/")
		if clean == "" {
			clean = "/"
		}
	}
	if r := rt.static[method+" "+clean]; r != nil {
		return r, nil
	}
	if r := rt.static["ANY "+clean]; r != nil {
		return r, nil
	}
	var best *Route
	var bestRank []int8
	var reqSegs []string
	if len(rt.dynamic) > 0 {
		reqSegs = splitPath(clean)
	}
	for _, r := range rt.dynamic {
		if r.Method != method && r.Method != "ANY" {
			continue
		}
		rank, ok := matchSegments(r.segments, reqSegs)
		if !ok {
			continue
		}
		if r.Method != "ANY" {
			rank = append(rank, 1)
		} else {
			rank = append(rank, 0)
		}
		if best == nil || rankLess(bestRank, rank) {
			best, bestRank = r, rank
		}
	}
	if best == nil {
		best = rt.catchAll
		if best == nil {
			return nil, nil
		}
	}
	if best.Path == "*" {
		return best, nil // $default has no path parameters
	}
	params := make(map[string]string, 2)
	fillParams(best.segments, splitPath(clean), params)
	return best, params
}

func splitPath(p string) []string {
	p = strings.Trim(p, "/")
	if p == "" {
		return nil
	}
	return strings.Split(p, "/")
}

// matchSegments reports whether the request segments fit the route and
// returns a rank vector (2 literal, 1 param, 0 greedy per segment).
func matchSegments(route []segment, req []string) ([]int8, bool) {
	rank := make([]int8, 0, len(route)+1)
	for i, s := range route {
		if s.greedy {
			if i >= len(req) {
				return nil, false
			}
			return append(rank, 0), true
		}
		if i >= len(req) {
			return nil, false
		}
		if s.param != "" {
			if req[i] == "" {
				return nil, false
			}
			rank = append(rank, 1)
			continue
		}
		if s.literal != req[i] {
			return nil, false
		}
		rank = append(rank, 2)
	}
	if len(route) != len(req) {
		return nil, false
	}
	return rank, true
}

func rankLess(a, b []int8) bool {
	for i := 0; i < len(a) && i < len(b); i++ {
		if a[i] != b[i] {
			return a[i] < b[i]
		}
	}
	return len(a) < len(b)
}

func fillParams(route []segment, req []string, params map[string]string) {
	for i, s := range route {
		if i >= len(req) {
			return
		}
		if s.greedy {
			params[s.param] = strings.Join(req[i:], "/")
			return
		}
		if s.param != "" {
			params[s.param] = req[i]
		}
	}
}

// hasPath reports whether any route serves this path with any method, so
// preflight requests find their CORS settings.
func (rt *router) corsFor(path string) *CORS {
	for _, m := range []string{"ANY", "GET", "POST", "PUT", "PATCH", "DELETE", "HEAD"} {
		if r, _ := rt.match(m, path); r != nil && r.CORS != nil {
			return r.CORS
		}
	}
	return nil
}
