package aws

import (
	"context"
	"testing"
)

// TestUploadsUseTransferAccelerationAsV3Does follows create-stack.js and
// aws/request.js under --aws-s3-accelerate.
func TestUploadsUseTransferAccelerationAsV3Does(t *testing.T) {
	cases := []struct {
		name        string
		cf          func() *fakeCloudFormation
		bucket      string
		endpoint    string
		accelerated bool
		step        string
	}{
		{
			name: "existing stack whose bucket is accelerated",
			cf: func() *fakeCloudFormation {
				cf := existingStack("UPDATE_COMPLETE")
				cf.outputs["ServerlessDeploymentBucketAccelerated"] = "true"
				return cf
			},
			accelerated: true, step: "Using S3 Transfer Acceleration Endpoint",
		},
		{
			name:        "existing stack whose bucket is not accelerated yet",
			cf:          func() *fakeCloudFormation { return existingStack("UPDATE_COMPLETE") },
			accelerated: false, step: "Not using S3 Transfer Acceleration (1st deploy)",
		},
		{
			name: "new stack: its core template turns acceleration on",
			cf: func() *fakeCloudFormation {
				return &fakeCloudFormation{outputs: map[string]string{"ServerlessDeploymentBucketName": testBucket}, scripts: [][]step{
					{{status: "CREATE_IN_PROGRESS"}, {status: "CREATE_COMPLETE"}},
				}}
			},
			accelerated: true, step: "Using S3 Transfer Acceleration Endpoint",
		},
		{
			name:        "local endpoint",
			cf:          func() *fakeCloudFormation { return existingStack("UPDATE_COMPLETE") },
			endpoint:    "http://127.0.0.1:5000",
			accelerated: false, step: "Not using S3 Transfer Acceleration: AWS_ENDPOINT_URL points S3 at http://127.0.0.1:5000",
		},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			cf := tc.cf()
			cf.scripts = append(cf.scripts, updateOK)
			s3 := newFakeS3(testBucket)
			b := testBundle(t, "1700000000000-2023-11-14T22:13:20.000Z")
			b.S3Accelerate = true
			rep := &recordingReporter{}
			if _, err := Deploy(context.Background(), &Clients{CloudFormation: cf, S3: s3, Lambda: fakeLambda{}, Endpoint: tc.endpoint}, b, DeployOptions{Reporter: rep}); err != nil {
				t.Fatal(err)
			}
			if len(s3.accelerated) == 0 {
				t.Fatal("nothing uploaded")
			}
			for i, acc := range s3.accelerated {
				if acc != tc.accelerated {
					t.Errorf("upload %d accelerated = %v, want %v", i, acc, tc.accelerated)
				}
			}
			if indexOf(rep.steps, tc.step) < 0 {
				t.Errorf("steps = %q, want %q", rep.steps, tc.step)
			}
		})
	}
	t.Run("flag not given", func(t *testing.T) {
		cf := existingStack("UPDATE_COMPLETE")
		cf.outputs["ServerlessDeploymentBucketAccelerated"] = "true"
		cf.scripts = [][]step{updateOK}
		s3 := newFakeS3(testBucket)
		if _, err := Deploy(context.Background(), &Clients{CloudFormation: cf, S3: s3, Lambda: fakeLambda{}}, testBundle(t, "1700000000000-2023-11-14T22:13:20.000Z"), DeployOptions{}); err != nil {
			t.Fatal(err)
		}
		for _, acc := range s3.accelerated {
			if acc {
				t.Fatal("an upload was accelerated without --aws-s3-accelerate")
			}
		}
	})
}
