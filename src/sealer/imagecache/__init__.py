"""The image cache: resolve, fetch and stream the images a cluster image needs into its ``registry/`` layers
(docker-distribution layout), import image archives, verify. May import registry/, distlayout/, store/; not build/ or cli/."""
