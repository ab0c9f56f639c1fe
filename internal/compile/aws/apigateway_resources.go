package aws

import (
	"sort"
	"strings"

	"github.com/nimbusfw/nimbus/internal/config"
)

// restResourceNode is one path segment of the REST API's resource tree.
type restResourceNode struct {
	path       string
	pathPart   string
	parent     *restResourceNode
	children   []*restResourceNode
	level      int
	name       string
	resourceID any // set for predefined (external) resources
	logicalID  string
	hasMethod  bool
	isCut      bool
}

type restPredefined struct {
	path       string
	name       string
	resourceID any
}

// predefinedResources reads provider.apiGateway.restApiResources, either a
// list of {path, resourceId, name} or a map of path → resource id.
func (rc *restCompiler) predefinedResources() []restPredefined {
	n := rc.apiConfig.Get("restApiResources")
	if !n.Truthy() {
		return nil
	}
	var out []restPredefined
	if n.Kind == config.Seq {
		for _, it := range n.Items {
			p := restPredefined{path: it.Get("path").StringOr(""), name: it.Get("name").StringOr("")}
			if id := it.Get("resourceId"); id.Truthy() {
				p.resourceID = id.Interface()
			}
			out = append(out, p)
		}
		return out
	}
	for _, p := range n.Pairs {
		out = append(out, restPredefined{path: p.Key, resourceID: p.Value.Interface()})
	}
	return out
}

// compileResources builds the resource tree of every event path (reusing
// predefined resources of a shared API) and adds an
// AWS::ApiGateway::Resource for each segment not predefined.
func (rc *restCompiler) compileResources() bool {
	nodes, err := rc.resourcePaths()
	if err != "" {
		rc.errorf(rc.apiConfig.Get("restApiResources").Pos, "provider.apiGateway.restApiResources", "%s", err)
		return false
	}
	rc.resources = map[string]*restResourceNode{}
	for _, n := range nodes {
		rc.resources[n.path] = n
	}
	for _, n := range nodes {
		if n.resourceID != nil {
			continue
		}
		n.logicalID = "ApiGatewayResource" + NormalizePath(n.path)
		var parent any
		if n.parent != nil {
			parent = rc.resourceID(n.parent.path)
		} else {
			parent = rc.rootResourceID()
		}
		rc.mergeResource(n.logicalID, "AWS::ApiGateway::Resource", map[string]any{
			"ParentId":  parent,
			"PathPart":  n.pathPart,
			"RestApiId": rc.restAPIID(),
		}, nil)
	}
	return true
}

func (rc *restCompiler) resourceID(path string) any {
	if path == "" {
		return rc.rootResourceID()
	}
	n := rc.resources[path]
	if n == nil {
		return nil
	}
	if n.resourceID != nil {
		return n.resourceID
	}
	if n.logicalID == "" {
		n.logicalID = "ApiGatewayResource" + NormalizePath(n.path)
	}
	return map[string]any{"Ref": n.logicalID}
}

func (rc *restCompiler) resourceName(path string) string {
	if path == "" || rc.resources == nil {
		return ""
	}
	if n := rc.resources[path]; n != nil {
		return n.name
	}
	return ""
}

// resourcePaths is v3's getResourcePaths: organise every path into trees,
// then, when some resources are predefined, keep only the branches that
// hang below a predefined resource (or the root), failing when a method's
// path needs a parent that is neither predefined nor creatable.
func (rc *restCompiler) resourcePaths() ([]*restResourceNode, string) {
	var trees, predefinedNodes, methodNodes []*restResourceNode
	apply := func(path, name string, resourceID any, isMethod bool) {
		path = strings.TrimSuffix(strings.TrimPrefix(path, "/"), "/")
		parts := strings.Split(path, "/")
		var root, parent *restResourceNode
		current := ""
		applyNode := func(n *restResourceNode, index int) {
			if index == len(parts)-1 {
				n.name = name
				if resourceID != nil {
					n.resourceID = resourceID
					if !nodeListHas(predefinedNodes, n.path) {
						predefinedNodes = append(predefinedNodes, n)
					}
				}
				if isMethod && !n.hasMethod {
					n.hasMethod = true
					if !nodeListHas(methodNodes, n.path) {
						methodNodes = append(methodNodes, n)
					}
				}
			}
			parent = n
		}
		for i, part := range parts {
			if current == "" {
				current = part
			} else {
				current = current + "/" + part
			}
			if root == nil {
				for _, t := range trees {
					if t.path == current {
						root = t
						break
					}
				}
			}
			if parent == nil {
				parent = root
			}
			if parent != nil {
				if parent.path == current {
					applyNode(parent, i)
					continue
				}
				var found *restResourceNode
				for _, ch := range parent.children {
					if ch.path == current {
						found = ch
						break
					}
				}
				if found != nil {
					applyNode(found, i)
					continue
				}
			}
			n := &restResourceNode{path: current, pathPart: part, parent: parent, level: i}
			if parent != nil {
				parent.children = append(parent.children, n)
			}
			if root == nil {
				root = n
				trees = append(trees, root)
			}
			applyNode(n, i)
		}
	}
	predefined := rc.predefinedResources()
	for _, p := range predefined {
		apply(p.path, p.name, p.resourceID, false)
	}
	for _, e := range rc.events {
		if e.path != "" {
			apply(e.path, "", nil, true)
		}
	}
	if len(predefinedNodes) == 0 {
		return combineResourceTrees(trees), ""
	}
	allPredefined := true
	for _, e := range rc.events {
		if !nodeListHas(predefinedNodes, e.path) {
			allPredefined = false
			break
		}
	}
	if allPredefined {
		var out []*restResourceNode
		for _, p := range predefined {
			path := p.path
			n := &restResourceNode{path: path, name: p.name, resourceID: p.resourceID}
			if n.name == "" {
				n.name = NormalizePath(path)
			}
			out = append(out, n)
		}
		return out, ""
	}
	cut := func(n *restResourceNode) {
		if n.parent == nil {
			return
		}
		if len(n.parent.children) <= 1 {
			n.parent.children = nil
		} else {
			var keep []*restResourceNode
			for _, c := range n.parent.children {
				if c.path != n.path {
					keep = append(keep, c)
				}
			}
			n.parent.children = keep
			n.parent.isCut = true
		}
		n.parent = nil
	}
	sorted := append([]*restResourceNode(nil), predefinedNodes...)
	sort.SliceStable(sorted, func(i, j int) bool { return sorted[i].level < sorted[j].level })
	for i := len(sorted) - 1; i >= 0; i-- {
		p := sorted[i]
		for p != nil && p.parent != nil {
			if p.parent.hasMethod && p.parent.resourceID == nil {
				return nil, "Resource ID for path " + p.parent.path + " is required"
			}
			if p.parent.resourceID != nil || len(p.parent.children) > 1 {
				cut(p)
				break
			}
			p = p.parent
		}
	}
	var validated []*restResourceNode
	for _, n := range methodNodes {
		it := n
		for it != nil {
			if it.resourceID != nil {
				cut(it)
				if !nodeListHas(validated, n.path) {
					validated = append(validated, it)
				}
				break
			}
			if it.isCut || (it.parent == nil && it.level > 0) {
				return nil, "Resource ID for path " + it.path + " is required"
			}
			if it.parent == nil {
				validated = append(validated, it)
				break
			}
			it = it.parent
		}
	}
	return combineResourceTrees(validated), ""
}

// combineResourceTrees flattens trees depth-first, naming unnamed nodes
// after their normalised path. A path seen twice keeps its first position.
func combineResourceTrees(trees []*restResourceNode) []*restResourceNode {
	var out []*restResourceNode
	seen := map[string]int{}
	var walk func(n *restResourceNode)
	walk = func(n *restResourceNode) {
		if n.name == "" {
			n.name = NormalizePath(n.path)
		}
		if i, ok := seen[n.path]; ok {
			out[i] = n
		} else {
			seen[n.path] = len(out)
			out = append(out, n)
		}
		for _, c := range n.children {
			walk(c)
		}
	}
	for _, t := range trees {
		walk(t)
	}
	return out
}

func nodeListHas(list []*restResourceNode, path string) bool {
	for _, n := range list {
		if n.path == path {
			return true
		}
	}
	return false
}
