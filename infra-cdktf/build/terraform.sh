#!/bin/sh
# Applies a synthesized stack (infra-cdktf/cdktf.out) with plain Terraform, so a deploy needs no cdktf
# CLI. `foundation` applies only what the build publishes into (artifacts bucket, image repository,
# the APIs they need) and the key pepper secret, whose first version must exist before the workloads
# that mount it start; `apply` applies everything.
# Usage: terraform.sh foundation|apply ENV
set -eu
mode="$1" env="$2"
dir="infra-cdktf/cdktf.out/stacks/tillstream-${env}"
[ -f "$dir/cdk.tf.json" ] || { echo "no synthesized stack in $dir: run npm run synth first" >&2; exit 2; }
terraform -chdir="$dir" init -input=false
case "$mode" in
  foundation)
    terraform -chdir="$dir" apply -input=false -auto-approve \
      -target=google_project_service.api-storage \
      -target=google_project_service.api-artifactregistry \
      -target=google_storage_bucket.artifacts \
      -target=google_artifact_registry_repository.images \
      -target=google_project_service.api-secretmanager \
      -target=google_secret_manager_secret.pepper
    ;;
  apply)
    terraform -chdir="$dir" apply -input=false -auto-approve
    ;;
  *)
    echo "usage: terraform.sh foundation|apply ENV" >&2
    exit 2
    ;;
esac
