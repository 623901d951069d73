#!/usr/bin/env bash
# Publishes the build outputs the stack deploys: the functions zip to the artifacts bucket
# (gcloud image) or the query API image to Artifact Registry (docker image).
# Usage: publish.sh functions|image PROJECT_ID REGION RELEASE
set -euo pipefail
what="$1" project="$2" region="$3" release="$4"
case "$what" in
  functions)
    gcloud storage cp dist/functions.zip "gs://${project}-tillstream-artifacts/functions/${release}.zip"
    ;;
  image)
    image="${region}-docker.pkg.dev/${project}/tillstream/query-api:${release}"
    docker build -f infra-cdktf/build/query-api.Dockerfile -t "$image" .
    docker push "$image"
    ;;
  *)
    echo "usage: publish.sh functions|image PROJECT_ID REGION RELEASE" >&2
    exit 2
    ;;
esac
