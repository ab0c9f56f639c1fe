package lift

import (
	"context"
	"testing"

	"github.com/nimbusfw/nimbus/internal/config"
	"github.com/nimbusfw/nimbus/internal/diag"
)

// FuzzExpand feeds arbitrary configs through the variable source and the
// expansion: whatever the constructs block holds, lift must report
// problems as diagnostics, never panic, and leave no token of its own
// unresolved when it reports no error.
func FuzzExpand(f *testing.F) {
	seeds := []string{
		"service: s\nprovider: {name: aws}\nconstructs:\n  jobs: {type: queue, worker: {handler: h.h}}\n",
		"service: s\nprovider: {name: aws}\nconstructs:\n  jobs: {type: queue, worker: other, fifo: true, batchSize: 20}\nfunctions: {other: {handler: h.h}}\n",
		"service: s\nprovider: {name: aws, iam: {role: {statements: []}}}\nconstructs:\n  b: {type: storage, publicPath: '/', cors: x, lifecycleRules: [{a: 1}]}\n",
		"service: s\nprovider: {name: aws}\nconstructs:\n  w: {type: webhook}\n  q: {type: queue}\n",
		"service: s\nprovider: {name: aws}\nconstructs:\n  b: {type: storage, extensions: {bucket: {Properties: {X: [1]}}, nope: {}}}\ncustom: {t: '${Token[TOKEN.7]}'}\n",
		"service: s\nprovider: {name: aws}\nconstructs:\n  w: {type: webhook, path: /x, authorizer: {handler: h.h}, extensions: {api: {}, bus: {Properties: {Name: b}}}}\n  i: {type: webhook, path: /y, insecure: true, method: PUT}\n",
		"service: s\nprovider: {name: aws}\nconstructs:\n  d: {type: database/dynamodb-single-table, gsiCount: 3, localSecondaryIndexes: true}\n",
		"service: s\nprovider: {name: aws}\nconstructs:\n  s: {type: static-website, path: p, domain: [a, b], certificate: c, redirectToMainDomain: true, errorPage: e.html}\n  a: {type: single-page-app, path: d, security: {allowIframe: true}}\n",
		"service: s\nprovider: {name: aws}\nconstructs:\n  s: {type: server-side-website, apiGateway: rest, errorPage: x/e.html, assets: {/e.html: y, /a/*: a}, domain: d, certificate: c}\n",
		"service: s\nprovider: {name: aws}\nconstructs:\n  n: {type: vpc}\n  m: {type: vpc, extensions: {x: {}}}\n",
		"service: s\nprovider: {name: aws, vpc: null}\nconstructs:\n  n: {type: vpc}\nfunctions: {f: {handler: h.h, vpc: {subnetIds: [s]}}}\n",
		"constructs:\n  n: {type: vpc}\n",
		"constructs: [1, 2]\n",
		"constructs:\n  q: {type: queue, worker: {handler: h}, delay: 901, encryption: kms}\n",
	}
	for _, s := range seeds {
		f.Add(s, "jobs.queueUrl")
	}
	f.Fuzz(func(t *testing.T, doc, address string) {
		root, ds := config.Parse("serverless.yml", []byte(doc), diag.NewSources())
		if ds.HasErrors() || root == nil || root.Kind != config.Map {
			return
		}
		l := New(root)
		var handed []string
		if n, err := l.Source(context.Background(), nil, address); err == nil {
			handed = append(handed, n.Scalar())
			custom := config.NewMap(root.Pos)
			custom.Set("v", n)
			root.Set("custom", custom)
		}
		_, ds = l.Expand(root, "dev")
		if ds.HasErrors() {
			return
		}
		l.AddResources(root)
		for _, tok := range handed {
			config.Walk(root, nil, func(n *config.Node, p config.Path) bool {
				if s, ok := n.Value.(string); ok && s == tok {
					t.Errorf("token %s left at %s", tok, p)
				}
				return true
			})
		}
	})
}
