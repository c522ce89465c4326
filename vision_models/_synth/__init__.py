"""The parts of the synthetic scene generator; `vision_models.synth` is its entry point and public face.

Split by job: `canvas` (noise, masks, warps), `backdrops` (floors, walls, bundled photos), `surfaces`
(intact flat faces), `damage` (the label's damage), `packaging` and `products` (object renderers), and
`camera` (shadows, lighting, the camera). Training-only: serving code never imports it.
"""
