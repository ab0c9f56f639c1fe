package pool

import (
	"os"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"

	"github.com/nimbusfw/nimbus/internal/config"
	"github.com/nimbusfw/nimbus/internal/diag"
	"github.com/nimbusfw/nimbus/internal/service"
)

// hostPassThrough are host variables an instance needs to find tools and
// write temporary files; the rest of the host environment stays out, as in
// Lambda.
var hostPassThrough = []string{"PATH", "HOME", "TMPDIR", "LANG", "SSL_CERT_FILE", "SSL_CERT_DIR", "NODE_EXTRA_CA_CERTS", "GOCOVERDIR"}

// functionEnv computes an instance's environment except the per-instance
// variables: host basics, provider and function `environment`, Lambda's
// reserved variables and credentials.
func (p *Pool) functionEnv(f *service.Function) ([]string, diag.Diagnostics) {
	env := map[string]string{}
	get := p.opts.LookupEnv
	for _, kv := range p.opts.HostEnviron {
		if k, v, ok := strings.Cut(kv, "="); ok && k != "" {
			env[k] = v
		}
	}
	for _, k := range hostPassThrough {
		if v, ok := get(k); ok {
			env[k] = v
		}
	}
	var warnings diag.Diagnostics
	fromFunction := map[string]bool{}
	for _, kv := range f.Environment {
		fromFunction[kv.Key] = true
	}
	for _, kv := range p.svc.EnvironmentOf(f) {
		path := "provider.environment." + kv.Key
		if fromFunction[kv.Key] {
			path = "functions." + f.Key + ".environment." + kv.Key
		}
		v, ok := p.localValue(kv.Value)
		if !ok && p.opts.ResolveEnv != nil {
			v, ok = p.opts.ResolveEnv(f.Key, kv.Key, kv.Value)
		}
		if !ok {
			if p.warned[path] {
				continue
			}
			p.warned[path] = true
			owner := ""
			if fromFunction[kv.Key] {
				owner = " of function " + f.Key
			}
			warnings.Warnf(kv.Value.Pos, path,
				"environment variable %s%s uses %s, which cannot be resolved locally; it is left unset",
				kv.Key, owner, intrinsicName(kv.Value))
			continue
		}
		env[kv.Key] = v
	}
	env["AWS_LAMBDA_FUNCTION_NAME"] = f.Name
	env["AWS_LAMBDA_FUNCTION_MEMORY_SIZE"] = strconv.Itoa(f.MemorySize)
	env["AWS_LAMBDA_FUNCTION_VERSION"] = "$LATEST"
	env["AWS_LAMBDA_LOG_GROUP_NAME"] = "/aws/lambda/" + f.Name
	env["AWS_LAMBDA_INITIALIZATION_TYPE"] = "on-demand"
	env["AWS_REGION"] = p.svc.Region
	env["AWS_DEFAULT_REGION"] = p.svc.Region
	env["AWS_EXECUTION_ENV"] = "AWS_Lambda_" + f.Runtime
	env["TZ"] = ":UTC"
	if _, set := env["GOMAXPROCS"]; !set && (f.Runtime == "go1.x" || strings.HasPrefix(f.Runtime, "provided")) {
		env["GOMAXPROCS"] = strconv.Itoa(lambdaVCPUs(f.MemorySize))
	}
	p.credentials(env)
	return sortedEnv(env), warnings
}

// credentials passes the user's AWS credentials through when present
// (keys or a profile), else sets obviously fake ones so SDKs in the
// handler can sign requests to local endpoints.
func (p *Pool) credentials(env map[string]string) {
	get := p.opts.LookupEnv
	if id, ok := get("AWS_ACCESS_KEY_ID"); ok && id != "" {
		if secret, ok := get("AWS_SECRET_ACCESS_KEY"); ok {
			env["AWS_ACCESS_KEY_ID"] = id
			env["AWS_SECRET_ACCESS_KEY"] = secret
			if tok, ok := get("AWS_SESSION_TOKEN"); ok {
				env["AWS_SESSION_TOKEN"] = tok
			}
			return
		}
	}
	profile, hasProfile := get("AWS_PROFILE")
	if p.svc.Provider.Raw != nil {
		if prof := p.svc.Provider.Raw.Get("profile").StringOr(""); prof != "" {
			profile, hasProfile = prof, true
		}
	}
	credFile, hasFile := get("AWS_SHARED_CREDENTIALS_FILE")
	if !hasFile {
		if home, ok := get("HOME"); ok {
			credFile = filepath.Join(home, ".aws", "credentials")
		}
	}
	if _, err := os.Stat(credFile); err == nil && credFile != "" {
		for _, k := range []string{"AWS_SHARED_CREDENTIALS_FILE", "AWS_CONFIG_FILE"} {
			if v, ok := get(k); ok {
				env[k] = v
			}
		}
		if hasProfile {
			env["AWS_PROFILE"] = profile
		}
		return
	}
	env["AWS_ACCESS_KEY_ID"] = "AKIANIMBUSLOCAL00000"
	env["AWS_SECRET_ACCESS_KEY"] = "nimbus-local-fake-secret"
	env["AWS_SESSION_TOKEN"] = "nimbus-local-fake-session"
}

// localValue renders an environment value as a string when it is a scalar
// or an intrinsic whose value is known without a deployed stack (pseudo
// parameters, Fn::Join and Fn::Sub over such values).
func (p *Pool) localValue(n *config.Node) (string, bool) {
	if n == nil || n.Kind == config.Null {
		return "", true
	}
	if n.IsScalar() {
		return n.Scalar(), true
	}
	if n.Kind != config.Map || len(n.Pairs) != 1 {
		return "", false
	}
	arg := n.Pairs[0].Value
	switch n.Pairs[0].Key {
	case "Ref":
		name, _ := arg.Str()
		return p.pseudo(name)
	case "Fn::Join":
		if arg == nil || arg.Kind != config.Seq || len(arg.Items) != 2 || arg.Items[1].Kind != config.Seq {
			return "", false
		}
		sep, _ := arg.Items[0].Str()
		parts := make([]string, 0, len(arg.Items[1].Items))
		for _, it := range arg.Items[1].Items {
			s, ok := p.localValue(it)
			if !ok {
				return "", false
			}
			parts = append(parts, s)
		}
		return strings.Join(parts, sep), true
	case "Fn::Sub":
		tmpl, ok := arg.Str()
		if !ok {
			return "", false
		}
		return p.substitute(tmpl)
	}
	return "", false
}

// substitute expands ${Name} in a Fn::Sub template when every name is a
// pseudo parameter; ${!Literal} stays literal as in CloudFormation.
func (p *Pool) substitute(tmpl string) (string, bool) {
	var b strings.Builder
	for {
		i := strings.Index(tmpl, "${")
		if i < 0 {
			b.WriteString(tmpl)
			return b.String(), true
		}
		j := strings.IndexByte(tmpl[i:], '}')
		if j < 0 {
			b.WriteString(tmpl)
			return b.String(), true
		}
		b.WriteString(tmpl[:i])
		name := tmpl[i+2 : i+j]
		if strings.HasPrefix(name, "!") {
			b.WriteString("${" + name[1:] + "}")
		} else {
			v, ok := p.pseudo(name)
			if !ok {
				return "", false
			}
			b.WriteString(v)
		}
		tmpl = tmpl[i+j+1:]
	}
}

func (p *Pool) pseudo(name string) (string, bool) {
	switch name {
	case "AWS::Region":
		return p.svc.Region, true
	case "AWS::AccountId":
		return AccountID, true
	case "AWS::Partition":
		return "aws", true
	case "AWS::URLSuffix":
		return "amazonaws.com", true
	case "AWS::StackName":
		return p.svc.StackName(), true
	case "AWS::NoValue":
		return "", true
	}
	return "", false
}

func intrinsicName(n *config.Node) string {
	if n != nil && n.Kind == config.Map && len(n.Pairs) == 1 {
		return n.Pairs[0].Key
	}
	return "a " + n.Kind.String() + " value"
}

// lambdaVCPUs is the CPU share Lambda gives a memory size (one vCPU per
// 1,769 MB, at least one), capped by this machine. Go runtimes get it as
// GOMAXPROCS so eight idle-spinning instances do not fight over the cores
// the way they never would in Lambda.
func lambdaVCPUs(memoryMB int) int {
	n := memoryMB / 1769
	if n < 1 {
		n = 1
	}
	if n > runtime.NumCPU() {
		n = runtime.NumCPU()
	}
	return n
}
