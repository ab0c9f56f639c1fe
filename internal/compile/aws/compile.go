package aws

import (
	"github.com/nimbusfw/nimbus/internal/cfn"
	"github.com/nimbusfw/nimbus/internal/diag"
)

// coreSteps run before the event compilers (functions, IAM role, layers…)
// and finalSteps after them (resources merge, export names…). They are
// registered the same way as events so each lives in its own file.
var coreSteps, finalSteps []step

type step struct {
	order int
	run   func(c *Context)
}

func registerCore(order int, run func(c *Context)) { coreSteps = append(coreSteps, step{order, run}) }
func registerFinal(order int, run func(c *Context)) {
	finalSteps = append(finalSteps, step{order, run})
}

// Compile builds the update-stack template of a service.
func Compile(in Input) (*cfn.Template, diag.Diagnostics) {
	c := &Context{Input: in, Svc: in.Service, Template: cfn.New()}
	for _, s := range sortedSteps(coreSteps) {
		s.run(c)
	}
	for _, ec := range orderedEventCompilers() {
		ec.compile(c)
	}
	for _, s := range sortedSteps(finalSteps) {
		s.run(c)
	}
	return c.Template, c.Diags
}

func sortedSteps(steps []step) []step {
	out := append([]step(nil), steps...)
	for i := 1; i < len(out); i++ {
		for j := i; j > 0 && out[j].order < out[j-1].order; j-- {
			out[j], out[j-1] = out[j-1], out[j]
		}
	}
	return out
}
