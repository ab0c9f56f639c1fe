// Package lift reproduces serverless-lift's `queue`, `storage`,
// `webhook`, `database/dynamodb-single-table`, `static-website`,
// `single-page-app`, `server-side-website` and `vpc` constructs without running the plugin: the ${construct:…} variable
// source, and the expansion of a resolved config with the functions,
// events, IAM statements, resources and outputs lift adds. The expanded
// tree is what every later stage reads (print, compile, local dev), so
// none of them needs to know about constructs.
//
// Lift synthesizes its resources with AWS CDK; the logical IDs follow
// CDK's rule (see LogicalID), and values follow CDK's rendering.
package lift

import (
	"context"
	"fmt"
	"regexp"
	"strconv"
	"strings"

	"github.com/nimbusfw/nimbus/internal/config"
)

// PluginName is how services list serverless-lift under plugins.
const PluginName = "serverless-lift"

// SupportedTypes are the construct types Nimbus expands, in the order
// messages name them.
var SupportedTypes = []string{"queue", "storage", "webhook", DatabaseType, StaticWebsiteType, SinglePageAppType, ServerSideWebsiteType, VpcType}

// Enabled reports whether the config lists serverless-lift among its
// plugins (a list, or the object form's modules).
func Enabled(root *config.Node) bool {
	plugins := root.Get("plugins")
	if plugins != nil && plugins.Kind == config.Map {
		plugins = plugins.Get("modules")
	}
	for _, p := range plugins.List() {
		if s, ok := p.Str(); ok && s == PluginName {
			return true
		}
	}
	return false
}

// Lift holds what one load of a service learns about its constructs: the
// tokens handed out for ${construct:…} variables, resolved by Expand.
type Lift struct {
	// raw is the constructs block as written, so variables can be checked
	// before the rest of the config is resolved.
	raw    *config.Node
	tokens []tokenRef
	built  []*construct
	// vpcConstruct is the vpc construct that set provider.vpc, for the
	// message about a second one.
	vpcConstruct string
	// Region is the deployment region (--region); without it Expand
	// takes provider.region, then us-east-1, as serverless v3 does.
	Region string
}

// tokenRef is what a token stands for: a construct's property.
type tokenRef struct{ id, property string }

// New prepares the constructs of an unresolved config tree.
func New(root *config.Node) *Lift {
	return &Lift{raw: root.Get("constructs")}
}

// tokenText is CDK's text for an unresolved token. Lift resolves
// ${construct:…} variables to such text first and replaces it once the
// constructs exist; serverless-state.json's initialServerlessConfig keeps
// the text, so Nimbus does the same.
func tokenText(n int) string { return "${Token[TOKEN." + strconv.Itoa(n) + "]}" }

var tokenPattern = regexp.MustCompile(`\$\{Token\[TOKEN\.(\d+)\]\}`)

// HasToken reports whether s holds an unresolved construct token.
func HasToken(s string) bool { return tokenPattern.MatchString(s) }

func (l *Lift) newToken(id, property string) string {
	l.tokens = append(l.tokens, tokenRef{id, property})
	return tokenText(len(l.tokens))
}

// Source resolves ${construct:ID.PROPERTY} to a token that Expand later
// replaces with the CloudFormation value lift gives it. Unknown
// constructs and properties are reported here, at the variable.
func (l *Lift) Source(_ context.Context, _ []*config.Node, address string) (*config.Node, error) {
	// lift splits with a limit of two parts: "a.b.c" names property "b".
	parts := strings.SplitN(address, ".", 3)
	id, property := parts[0], ""
	if len(parts) > 1 {
		property = parts[1]
	}
	c := l.raw.Get(id)
	if c == nil || c.Kind != config.Map {
		return nil, fmt.Errorf("No construct named '%s' was found, the ${construct:%s.%s} variable is invalid.", id, id, property)
	}
	typ := c.Get("type").Scalar0()
	if strings.Contains(typ, "${") {
		// The type is itself a variable: Expand checks the property once
		// the construct is built.
		return config.NewString(l.newToken(id, property), c.Pos), nil
	}
	props := propertiesOf(typ, c)
	if props == nil {
		return nil, fmt.Errorf("${construct:%s.%s} cannot be resolved: construct '%s' has type %q, and Nimbus supports %s", id, property, id, typ, strings.Join(SupportedTypes, ", "))
	}
	for _, p := range props {
		if p == property {
			return config.NewString(l.newToken(id, property), c.Pos), nil
		}
	}
	return nil, fmt.Errorf("${construct:%s.%s} does not exist. Properties available on ${construct:%s} are: %s", id, property, id, strings.Join(props, ", "))
}

// propertiesOf lists the variables a construct exposes, as lift does.
func propertiesOf(typ string, c *config.Node) []string {
	switch typ {
	case "queue":
		return []string{"queueUrl", "queueArn", "dlqUrl", "dlqArn"}
	case "storage":
		if c.Get("publicPath") != nil && c.Get("publicPath").Kind == config.String {
			return []string{"bucketArn", "bucketName", "publicUrl"}
		}
		return []string{"bucketArn", "bucketName"}
	case "webhook":
		return []string{"busName"}
	case DatabaseType:
		return []string{"tableName", "tableArn", "tableStreamArn"}
	case StaticWebsiteType, SinglePageAppType:
		return []string{"cname", "assetsBucketName"}
	case ServerSideWebsiteType:
		return []string{"url", "cname", "assetsBucketName"}
	case VpcType:
		// Lift's vpc exposes no variables.
		return []string{}
	}
	return nil
}
