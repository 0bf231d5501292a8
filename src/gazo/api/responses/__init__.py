"""OpenAI's Responses API, for images: a request with the `image_generation` tool becomes one image request.

`protocol` holds the wire types, `inputs` reads a request's input (text, images, earlier turns),
`objects` builds the Response objects and stream events, `serving` runs a request through the image
service and keeps what a follow-up turn needs.
"""
