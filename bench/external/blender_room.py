# A room rendered by Blender (Cycles, path traced), not by this repository's generator: a scene "made by a tool
# outside this repo" for UniCLift's quality checks (bench/external/run.sh). Nothing here shares code or choices with
# src/Compute/Synthetic: the objects are Blender primitives and multi-part compositions, the shading is Cycles'
# (shadows, speculars, interreflection, textures, noise), the cameras are a free orbit, and the ground truth comes from
# Cycles' object-index pass.
#
#   blender -b -noaudio --factory-startup -P bench/external/blender_room.py -- OUT [--seed S] [--objects N]
#       [--views V] [--width W] [--height H] [--samples N] [--test-every K] [--layout orbit|inside|table|shelf|street]
#       [--identical KIND]
#
# --layout orbit (the default): an open room (floor, three walls) with the objects on the floor, the cameras on an arc
# outside it looking in. --layout inside: a closed room (four walls, a ceiling, lit by lamps under it) seen from
# within, as Replica or ScanNet scans are: the cameras stand near the middle and turn twice round, looking out and
# down at objects along the walls, some of them pictures hung on a wall (a thin box a few centimetres in front of it);
# each object is seen by a part of the views only, and every camera has geometry behind it. --layout table: the same
# closed room with a table in its middle (background, as the floor) and small objects crowded on it, touching, a few
# stacked on others, the cameras on a ring round the table looking down at it (a cluttered desk, as Messy Rooms).
# --layout shelf: the same closed room with open shelves against one wall (background) holding small objects side by
# side on four boards, captured forward-facing as LLFF's hand-held scenes are: every camera stands in front of the
# shelves and looks at them, so no object is seen from behind, the boards hide parts of the objects below and above
# them depending on the camera's height, and objects at the back of a board hide behind those at its front.
# --layout street: outdoors, a street 30 m long between rows of buildings (background, as the ground), under a sky
# (Blender's sky texture, no geometry: background in the ground truth) and a sun; the objects are street furniture and
# traffic at street scale (cars, trees, people, benches, lamp posts, bins, bollards, 0.3-4.5 m) on the sidewalks and
# parked along the kerbs; the cameras walk the street at eye height, there on one side and back on the other, looking
# ahead and to the sides (a hand-held walk, as outdoor captures are): far objects are small, near ones large, and no
# object is seen from all round.
# --identical KIND (with any layout): every object is the same KIND, of one size, shape and material, so that only
# where an object stands tells it from the others (a room of identical chairs, a table of identical mugs, as Replica's
# and ScanNet's rooms have): KIND is one of the kinds below, or chair (a seat, four legs and a back, 0.9 m) or mug (a
# cup and a handle, 11 cm); chairs stand closer together than other objects (their footprint is small for their size).
#
# Writes OUT in nerfstudio's layout (UniCLift reads it as `Nerfstudio`):
#   images/frame_XXXX.png          the renders
#   gt_instance/frame_XXXX.npy     int32 ground-truth instance ids (0: floor, walls; 1..N: objects)
#   gt_surface/frame_XXXX.npy      int32 which background surface each pixel shows (0: an object; 1: floor, 2-5: walls,
#                                  6: ceiling, 7: table, 8: shelves, 9: shelves' back; street: 1 road and sidewalks,
#                                  2-5 buildings, 10 sky), for Segment-Anything-like masks
#                                  that cut the background along its surfaces (sam_masks.py --background surfaces)
#   points3D.ply                   surface samples with jitter and colour noise (an SfM-like initial cloud)
#   transforms.json                fl_x fl_y cx cy w h, frames[file_path, transform_matrix (OpenGL axes)],
#                                  train_filenames / test_filenames, ply_file_path
#   objects.json                   what each instance is (kind, parts, size, colour, material)
# The input masks (masks/) are made from gt_instance/ by corrupt_masks.py, also independent of this repository.
import argparse
import colorsys
import json
import math
import os
import random
import sys

import bpy
import numpy as np
from mathutils import Vector

argv = sys.argv[sys.argv.index("--") + 1:] if "--" in sys.argv else []
ap = argparse.ArgumentParser()
ap.add_argument("out")
ap.add_argument("--seed", type=int, default=1)
ap.add_argument("--objects", type=int, default=10)
ap.add_argument("--views", type=int, default=48)
ap.add_argument("--width", type=int, default=200)
ap.add_argument("--height", type=int, default=150)
ap.add_argument("--samples", type=int, default=24)
ap.add_argument("--test-every", type=int, default=6)
ap.add_argument("--points", type=int, default=30000)
ap.add_argument("--layout", choices=["orbit", "inside", "table", "shelf", "street"], default="orbit")
ap.add_argument("--identical", choices=["box", "sphere", "cylinder", "cone", "torus", "monkey", "table", "lamp", "stack",
                                        "ico", "chair", "mug"])
args = ap.parse_args(argv)

rng = random.Random(args.seed)
out = os.path.abspath(args.out)
for sub in ("images", "gt_instance", "gt_surface"):
    os.makedirs(os.path.join(out, sub), exist_ok=True)

# An empty scene (factory startup still has a cube, a light and a camera).
bpy.ops.wm.read_factory_settings(use_empty=True)
scene = bpy.context.scene


def material(name, colour, roughness, metallic=0.0, texture=None):
    m = bpy.data.materials.new(name)
    m.use_nodes = True
    nodes, links = m.node_tree.nodes, m.node_tree.links
    bsdf = nodes["Principled BSDF"]
    bsdf.inputs["Base Color"].default_value = (*colour, 1.0)
    bsdf.inputs["Roughness"].default_value = roughness
    bsdf.inputs["Metallic"].default_value = metallic
    if texture == "checker":
        t = nodes.new("ShaderNodeTexChecker")
        t.inputs["Scale"].default_value = rng.uniform(3, 9)
        t.inputs["Color1"].default_value = (*colour, 1.0)
        t.inputs["Color2"].default_value = (*[c * 0.45 for c in colour], 1.0)
        links.new(t.outputs["Color"], bsdf.inputs["Base Color"])
    elif texture == "noise":
        t = nodes.new("ShaderNodeTexNoise")
        t.inputs["Scale"].default_value = rng.uniform(4, 14)
        ramp = nodes.new("ShaderNodeValToRGB")
        ramp.color_ramp.elements[0].color = (*[c * 0.5 for c in colour], 1.0)
        ramp.color_ramp.elements[1].color = (*[min(1.0, c * 1.3) for c in colour], 1.0)
        links.new(t.outputs["Fac"], ramp.inputs["Fac"])
        links.new(ramp.outputs["Color"], bsdf.inputs["Base Color"])
    return m


def hsv(h, s, v):
    return colorsys.hsv_to_rgb(h % 1.0, s, v)


def add(kind, **kw):
    getattr(bpy.ops.mesh, "primitive_" + kind + "_add")(**kw)
    return bpy.context.active_object


# Floor and walls (and, inside, a ceiling): background (pass index 0), textured differently from the objects.
tabletop = args.layout == "table"
shelf = args.layout == "shelf"
inside = args.layout in ("inside", "table", "shelf")  # a closed room with a ceiling, lit from within
room = 6.4 if inside else 9.0
height_share = 2.7 / room if inside else 0.34  # wall height over room width
# Background surfaces carry pass index SURFACE + k (k: gt_surface's ids), objects 1..N.
SURFACE = 1000


def surface(obj, k):
    obj.pass_index = SURFACE + k
    return obj


walls = []
street = args.layout == "street"
STREET_L, STREET_W, SIDEWALK = 30.0, 8.0, 4.0  # street: length, road width, sidewalk width (each side)
if street:
    # The road and the sidewalks (one surface, as SAM would see the ground), buildings in rows along both sides with
    # gaps between them, and one across the far end; a sky with a sun.
    ground = surface(add("plane", size=1), 1)
    ground.scale = (STREET_L + 40, 60, 1)
    ground.data.materials.append(material("road", hsv(rng.random(), 0.08, 0.35), 0.8, texture="noise"))
    for side in (-1, 1):
        curb = surface(add("cube", size=1, location=(0, side * (STREET_W / 2 + SIDEWALK / 2), 0.06)), 1)
        curb.scale = (STREET_L + 40, SIDEWALK, 0.12)
        curb.data.materials.append(material(f"sidewalk{side}", hsv(rng.random(), 0.05, 0.6), 0.9, texture="checker"))
        x = -STREET_L / 2 - 12
        while x < STREET_L / 2 + 12:
            w, d, h = rng.uniform(5, 11), rng.uniform(6, 10), rng.uniform(4, 12)
            b = surface(add("cube", size=1, location=(x + w / 2, side * (STREET_W / 2 + SIDEWALK + d / 2), h / 2)), 2 if side < 0 else 3)
            b.scale = (w, d, h)
            b.data.materials.append(material(f"building{len(walls)}", hsv(rng.random(), rng.uniform(0.1, 0.4), rng.uniform(0.45, 0.85)), 0.8,
                                             texture=rng.choice(["noise", "checker", None])))
            walls.append(b)
            x += w + rng.uniform(0.5, 4)
    for end, k in ((-1, 4), (1, 5)):
        b = surface(add("cube", size=1, location=(end * (STREET_L / 2 + 18), 0, 7)), k)
        b.scale = (6, STREET_W + 2 * SIDEWALK + 20, 14)
        b.data.materials.append(material(f"end{end}", hsv(rng.random(), 0.2, 0.7), 0.8, texture="noise"))
    world = bpy.data.worlds.new("sky")
    scene.world = world
    world.use_nodes = True
    sky = world.node_tree.nodes.new("ShaderNodeTexSky")
    sky.sky_type = "HOSEK_WILKIE"
    sky.sun_direction = Vector((rng.uniform(-0.6, 0.6), rng.uniform(-0.6, 0.6), rng.uniform(0.4, 0.8))).normalized()
    sky.turbidity = rng.uniform(2.0, 5.0)
    world.node_tree.links.new(sky.outputs["Color"], world.node_tree.nodes["Background"].inputs["Color"])
    world.node_tree.nodes["Background"].inputs["Strength"].default_value = 0.6
else:
    floor = surface(add("plane", size=room), 1)
    floor.data.materials.append(material("floor", hsv(rng.random(), 0.25, 0.55), 0.6, texture="checker"))
    walls = []
    sides = [(0, room / 2, 0), (-room / 2, 0, math.pi / 2), (room / 2, 0, math.pi / 2)] + ([(0, -room / 2, 0)] if inside else [])
    for i, (x, y, rz) in enumerate(sides):
        w = add("plane", size=room, location=(x, y, room * height_share / 2 if inside else 1.5), rotation=(math.pi / 2, 0, rz))
        w.scale = (1, height_share, 1)
        surface(w, 2 + i)
        w.data.materials.append(material(f"wall{i}", hsv(rng.random(), 0.12, 0.75), 0.85, texture="noise" if i % 2 == 0 and (inside or i == 0) else None))
        walls.append(w)
if inside:
    height = room * height_share
    ceiling = surface(add("plane", size=room, location=(0, 0, height)), 6)
    ceiling.data.materials.append(material("ceiling", hsv(rng.random(), 0.05, 0.85), 0.9))
if tabletop:  # the table is background too: a top on four legs in the middle of the room
    TABLE_W, TABLE_D, TABLE_H = 1.6, 1.0, 0.75
    desk = material("desk", hsv(rng.random(), 0.35, 0.45), 0.5, texture="noise")
    top = add("cube", size=1, location=(0, 0, TABLE_H - 0.025))
    top.scale = (TABLE_W, TABLE_D, 0.05)
    surface(top, 7)
    top.data.materials.append(desk)
    for dx in (-1, 1):
        for dy in (-1, 1):
            leg = add("cube", size=1, location=(dx * (TABLE_W / 2 - 0.06), dy * (TABLE_D / 2 - 0.06), (TABLE_H - 0.05) / 2))
            leg.scale = (0.05, 0.05, TABLE_H - 0.05)
            surface(leg, 7)
            leg.data.materials.append(desk)

if shelf:  # open shelves against the far wall (background): two sides, a back, four boards
    SHELF_W, SHELF_D, BOARDS = 2.4, 0.42, [0.3, 0.75, 1.2, 1.65]
    SHELF_Y = room / 2 - 0.05 - SHELF_D / 2  # the boards' middle in depth
    wood = material("shelf", hsv(rng.random(), 0.3, 0.5), 0.55, texture="noise")
    for bz in BOARDS:
        b = add("cube", size=1, location=(0, SHELF_Y, bz - 0.015))
        b.scale = (SHELF_W, SHELF_D, 0.03)
        surface(b, 8)
        b.data.materials.append(wood)
    for dx in (-1, 1):
        side = add("cube", size=1, location=(dx * (SHELF_W / 2 + 0.015), SHELF_Y, (BOARDS[-1] + 0.45) / 2))
        side.scale = (0.03, SHELF_D, BOARDS[-1] + 0.45)
        surface(side, 8)
        side.data.materials.append(wood)
    back = add("cube", size=1, location=(0, SHELF_Y + SHELF_D / 2 + 0.01, (BOARDS[-1] + 0.45) / 2))
    back.scale = (SHELF_W, 0.02, BOARDS[-1] + 0.45)
    surface(back, 9)
    back.data.materials.append(material("shelf-back", hsv(rng.random(), 0.15, 0.7), 0.8))

KINDS = ["box", "sphere", "cylinder", "cone", "torus", "monkey", "table", "lamp", "stack", "ico"]
STREET_KINDS = ["car", "tree", "person", "bench", "post", "bin", "car", "bollard", "person", "tree", "box", "car"]
# Street objects' footprint radius (placement discs), metres.
STREET_RADIUS = {"car": 2.3, "tree": 1.3, "person": 0.35, "bench": 0.9, "post": 0.45, "bin": 0.4, "bollard": 0.2, "box": 0.7}


def make_object(index, kind, size):
    """One instance: one or more meshes sharing the pass index `index`. Returns its parts, lowest z at 0."""
    col = hsv(rng.random(), rng.uniform(0.45, 0.95), rng.uniform(0.35, 0.95))
    tex = rng.choice([None, None, None, "checker", "noise"])
    mat = material(f"obj{index}", col, rng.uniform(0.08, 0.9), metallic=rng.choice([0.0, 0.0, 0.0, 0.8]), texture=tex)
    parts = []
    s = size
    if kind == "box":
        o = add("cube", size=1)
        o.scale = (s * rng.uniform(0.5, 1.0), s * rng.uniform(0.5, 1.0), s * rng.uniform(0.4, 1.2))
        o.location.z = o.scale.z / 2
        parts.append(o)
    elif kind == "sphere":
        o = add("uv_sphere", radius=s / 2, segments=32, ring_count=16)
        o.location.z = s / 2
        bpy.ops.object.shade_smooth()
        parts.append(o)
    elif kind == "ico":
        o = add("ico_sphere", radius=s / 2, subdivisions=1)
        o.location.z = s / 2
        parts.append(o)
    elif kind == "cylinder":
        h = s * rng.uniform(0.6, 1.6)
        o = add("cylinder", radius=s / 3, depth=h, vertices=32)
        o.location.z = h / 2
        bpy.ops.object.shade_smooth()
        parts.append(o)
    elif kind == "cone":
        o = add("cone", radius1=s / 2, radius2=0, depth=s * 1.2, vertices=32)
        o.location.z = s * 0.6
        parts.append(o)
    elif kind == "torus":
        o = add("torus", major_radius=s / 2.5, minor_radius=s / 8)
        o.location.z = s / 8
        bpy.ops.object.shade_smooth()
        parts.append(o)
    elif kind == "monkey":
        o = add("monkey", size=s)
        o.location.z = s * 0.4
        o.rotation_euler.x = -0.3
        bpy.ops.object.shade_smooth()
        parts.append(o)
    elif kind == "table":  # a top and four legs: one instance in five meshes, with gaps between them
        top_h, leg_h = s * 0.08, s * 0.7
        top = add("cube", size=1)
        top.scale = (s * 1.2, s * 0.8, top_h)
        top.location.z = leg_h + top_h / 2
        parts.append(top)
        for dx in (-1, 1):
            for dy in (-1, 1):
                leg = add("cylinder", radius=s * 0.04, depth=leg_h, vertices=12)
                leg.location = (dx * s * 0.52, dy * s * 0.32, leg_h / 2)
                parts.append(leg)
    elif kind == "lamp":  # a thin pole, a base and a shade
        base = add("cylinder", radius=s * 0.25, depth=s * 0.06, vertices=24)
        base.location.z = s * 0.03
        pole = add("cylinder", radius=s * 0.03, depth=s * 1.3, vertices=12)
        pole.location.z = s * 0.65
        shade = add("cone", radius1=s * 0.35, radius2=s * 0.15, depth=s * 0.35, vertices=24)
        shade.location.z = s * 1.35
        parts += [base, pole, shade]
    elif kind == "frame":  # a picture: a thin box, its back to the wall at y = 0 of the object's own frame
        o = add("cube", size=1)
        o.scale = (s * rng.uniform(0.8, 1.3), s * 0.04, s * rng.uniform(0.6, 1.0))
        o.location = (0, -o.scale.y / 2, 0)
        parts.append(o)
    elif kind == "chair":  # a seat on four legs and a back: one instance in six meshes, with gaps between the legs
        seat_h, seat_w, t = s * 0.5, s * 0.5, s * 0.05
        seat = add("cube", size=1)
        seat.scale = (seat_w, seat_w, t)
        seat.location.z = seat_h + t / 2
        parts.append(seat)
        for dx in (-1, 1):
            for dy in (-1, 1):
                leg = add("cube", size=1)
                leg.scale = (s * 0.045, s * 0.045, seat_h)
                leg.location = (dx * (seat_w / 2 - s * 0.03), dy * (seat_w / 2 - s * 0.03), seat_h / 2)
                parts.append(leg)
        back = add("cube", size=1)
        back.scale = (seat_w, t, s * 0.45)
        back.location = (0, seat_w / 2 - t / 2, seat_h + t + s * 0.225)
        parts.append(back)
    elif kind == "mug":  # a cup and its handle
        body = add("cylinder", radius=s * 0.35, depth=s, vertices=32)
        body.location.z = s / 2
        bpy.ops.object.shade_smooth()
        handle = add("torus", major_radius=s * 0.22, minor_radius=s * 0.05, location=(s * 0.4, 0, s / 2), rotation=(math.pi / 2, 0, 0))
        bpy.ops.object.shade_smooth()
        parts += [body, handle]
    elif kind == "car":  # a body, a cabin and four wheels, along x
        length, width = rng.uniform(3.6, 4.6), rng.uniform(1.65, 1.9)
        body = add("cube", size=1)
        body.scale = (length, width, 0.7)
        body.location.z = 0.3 + 0.35
        cabin = add("cube", size=1)
        cabin.scale = (length * rng.uniform(0.45, 0.6), width * 0.9, 0.55)
        cabin.location = (-length * 0.06, 0, 1.0 + 0.275)
        parts += [body, cabin]
        for dx in (-1, 1):
            for dy in (-1, 1):
                wheel = add("cylinder", radius=0.32, depth=0.22, vertices=20, location=(dx * length * 0.32, dy * (width / 2 - 0.08), 0.32),
                            rotation=(math.pi / 2, 0, 0))
                parts.append(wheel)
    elif kind == "tree":  # a trunk and a crown
        h, r = rng.uniform(1.8, 2.8), rng.uniform(0.9, 1.5)
        trunk = add("cylinder", radius=rng.uniform(0.1, 0.18), depth=h, vertices=16)
        trunk.location.z = h / 2
        crown = add("ico_sphere", radius=r, subdivisions=2)
        crown.location.z = h + r * 0.7
        crown.scale.z = rng.uniform(0.8, 1.3)
        parts += [trunk, crown]
    elif kind == "person":  # two legs, a torso, a head
        for dx in (-1, 1):
            leg = add("cylinder", radius=0.075, depth=0.85, vertices=12, location=(dx * 0.1, 0, 0.425))
            parts.append(leg)
        torso = add("cylinder", radius=0.19, depth=0.65, vertices=16, location=(0, 0, 0.85 + 0.325))
        head = add("uv_sphere", radius=0.11, segments=16, ring_count=8, location=(0, 0, 1.62))
        bpy.ops.object.shade_smooth()
        parts += [torso, head]
    elif kind == "bench":  # a seat, two ends, a back
        seat = add("cube", size=1, location=(0, 0, 0.45))
        seat.scale = (1.7, 0.45, 0.06)
        parts.append(seat)
        for dx in (-1, 1):
            end = add("cube", size=1, location=(dx * 0.75, 0, 0.21))
            end.scale = (0.07, 0.45, 0.42)
            parts.append(end)
        back = add("cube", size=1, location=(0, 0.21, 0.72))
        back.scale = (1.7, 0.05, 0.4)
        parts.append(back)
    elif kind == "post":  # a lamp post: a pole 4 m tall, an arm, a lamp
        pole = add("cylinder", radius=0.07, depth=4.0, vertices=12, location=(0, 0, 2.0))
        arm = add("cube", size=1, location=(0.4, 0, 3.95))
        arm.scale = (0.8, 0.07, 0.07)
        lamp = add("cube", size=1, location=(0.75, 0, 3.86))
        lamp.scale = (0.45, 0.25, 0.12)
        parts += [pole, arm, lamp]
    elif kind == "bin":  # a bin and its lid
        body = add("cylinder", radius=0.3, depth=0.9, vertices=24, location=(0, 0, 0.45))
        lid = add("cylinder", radius=0.33, depth=0.06, vertices=24, location=(0, 0, 0.93))
        parts += [body, lid]
    elif kind == "bollard":  # a post with a round top
        post = add("cylinder", radius=0.1, depth=0.8, vertices=16, location=(0, 0, 0.4))
        top = add("uv_sphere", radius=0.1, segments=16, ring_count=8, location=(0, 0, 0.8))
        bpy.ops.object.shade_smooth()
        parts += [post, top]
    elif kind == "stack":  # three boxes on top of each other, slightly turned
        z = 0.0
        for k in range(3):
            b = add("cube", size=1)
            e = s * (0.75 - 0.15 * k)
            b.scale = (e, e * 0.8, e * 0.45)
            b.location.z = z + b.scale.z / 2
            b.rotation_euler.z = rng.uniform(-0.4, 0.4)
            z += b.scale.z
            parts.append(b)
    if kind == "tree":  # leaves are green whatever the draw above said
        col = hsv(rng.uniform(0.22, 0.38), rng.uniform(0.5, 0.8), rng.uniform(0.3, 0.6))
        mat = material(f"obj{index}-leaves", col, 0.9, texture="noise")
    for p in parts:
        p.pass_index = index
        p.data.materials.clear()
        p.data.materials.append(mat)
    return parts, col, kind, tex


# Objects on the floor, not overlapping (a disc per object), sizes spanning 4x. Inside, they stand along the walls
# (at least 1.7 m from the middle, where the cameras are) and every fourth is a picture on a wall. On the table they
# are small (6-26 cm) and crowded: discs 0.55 x the size, so neighbours touch or nearly do, and every fifth stands on
# an object already there whose top is flat (a box or a stack), when one is free.
objects, placed = [], []
flat_tops = []  # table layout: (x, y, top z, index) of boxes and stacks nothing stands on yet
on_boards = []  # shelf layout: (x, y, radius, board) of the objects on the boards
half = room / 2
for index in range(1, args.objects + 1):
    kind = KINDS[(index - 1) % len(KINDS)] if index <= len(KINDS) else rng.choice(KINDS)
    if inside and not tabletop and not shelf and index % 4 == 0:
        kind = "frame"
    if shelf and kind == "table":
        kind = "box"  # a table's legs would stand through the board
    if street:
        kind = STREET_KINDS[(index - 1) % len(STREET_KINDS)] if index <= len(STREET_KINDS) else rng.choice(STREET_KINDS)
    size = rng.uniform(0.35, 1.4) if not inside else rng.uniform(0.06, 0.26) if tabletop else rng.uniform(0.1, 0.26) if shelf else rng.uniform(0.3, 1.0)
    radius = size * (0.55 if tabletop or shelf else 0.8)
    if street:
        size = rng.uniform(0.6, 1.2) if kind == "box" else 1.0
        radius = STREET_RADIUS[kind] * (size if kind == "box" else 1.0)
    if args.identical:  # the same kind and size every time (the size drawn above is not used)
        kind = args.identical
        lo, hi = (0.35, 1.4) if not inside else (0.06, 0.26) if tabletop else (0.1, 0.26) if shelf else (0.3, 1.0)
        size = {"chair": 0.9, "mug": 0.11}.get(kind, (lo + hi) / 2)
        radius = size * (0.4 if kind == "chair" else 0.55 if tabletop or shelf else 0.8)
    base_z, on = 0.0, None
    if tabletop and index % 5 == 0 and flat_tops and kind not in ("table", "lamp"):
        on = flat_tops.pop(rng.randrange(len(flat_tops)))
    for _ in range(500):
        if on is not None:  # stacked: on that object's top, not counted in the table's discs
            x, y, base_z = on[0] + rng.uniform(-0.02, 0.02), on[1] + rng.uniform(-0.02, 0.02), on[2]
            break
        if shelf:  # on a board, side by side, not overlapping the others on that board
            level = rng.randrange(len(BOARDS))
            base_z = BOARDS[level]
            x = rng.uniform(-SHELF_W / 2 + 0.04 + radius, SHELF_W / 2 - 0.04 - radius)
            y = rng.uniform(SHELF_Y - SHELF_D / 2 + 0.02 + radius, SHELF_Y + SHELF_D / 2 - 0.02 - radius)
            if all(math.hypot(x - px, y - py) > radius + pr + 0.01 for px, py, pr, pl in on_boards if pl == level):
                on_boards.append((x, y, radius, level))
                break
            continue
        if street:  # cars parked along a kerb, facing along the street; the rest on a sidewalk
            side = rng.choice((-1, 1))
            if kind == "car":
                x, y, base_z = rng.uniform(-STREET_L / 2 + 2.5, STREET_L / 2 - 2.5), side * (STREET_W / 2 - 1.1), 0.0
            else:
                x = rng.uniform(-STREET_L / 2 + 1, STREET_L / 2 - 1)
                y, base_z = side * rng.uniform(STREET_W / 2 + 0.3 + min(radius, 1.0), STREET_W / 2 + SIDEWALK - 0.3), 0.12
            if all(math.hypot(x - px, y - py) > radius + pr + 0.2 for px, py, pr in placed):
                break
            continue
        if tabletop:
            base_z = TABLE_H
            x, y = rng.uniform(-TABLE_W / 2 + 0.05 + radius, TABLE_W / 2 - 0.05 - radius), rng.uniform(-TABLE_D / 2 + 0.05 + radius, TABLE_D / 2 - 0.05 - radius)
            if all(math.hypot(x - px, y - py) > radius + pr + 0.005 for px, py, pr in placed):
                break
            continue
        if kind == "frame":  # on a wall, its own place along that wall (its height is drawn below)
            side, along = rng.randrange(4), rng.uniform(-half + 0.8, half - 0.8)
            x, y, wall_rz = [(along, half, 0.0), (-half, along, math.pi / 2), (along, -half, math.pi), (half, along, -math.pi / 2)][side]
        elif inside:
            lim = half - 0.25 - radius
            x, y = rng.uniform(-lim, lim), rng.uniform(-lim, lim)
            if math.hypot(x, y) < 1.7 + radius:
                continue
        else:
            x, y = rng.uniform(-3.3, 3.3), rng.uniform(-3.3, 3.0)
        if all(math.hypot(x - px, y - py) > radius + pr + 0.1 for px, py, pr in placed):
            break
    else:
        continue
    if args.identical:  # every object draws its shape and material from the same stream: identical objects
        rng, placing = random.Random(args.seed * 7919 + 1), rng
        parts, col, kind, tex = make_object(index, kind, size)
        rng = placing
    else:
        parts, col, kind, tex = make_object(index, kind, size)
    # Parent every part to an empty, then move and turn the whole object: a picture 1.1-1.7 m up, facing the room.
    root = bpy.data.objects.new(f"instance{index}", None)
    scene.collection.objects.link(root)
    for p in parts:
        p.parent = root
    if kind == "frame":
        root.location = (x, y, rng.uniform(1.1, 1.7))
        root.rotation_euler.z = wall_rz
    elif street and kind in ("car", "bench", "post"):  # along the street; a bench and a lamp face it
        root.location = (x, y, base_z)
        root.rotation_euler.z = (rng.choice((0, math.pi)) + rng.uniform(-0.05, 0.05) if kind == "car"
                                 else (0 if y > 0 else math.pi) if kind == "bench" else (math.pi / 2 if y > 0 else -math.pi / 2))
    else:
        root.location = (x, y, base_z)
        root.rotation_euler.z = rng.uniform(0, 2 * math.pi)
    if on is None and not shelf:
        placed.append((x, y, radius))
    if tabletop and kind in ("box", "stack"):
        bpy.context.view_layer.update()
        top_z = max((p.matrix_world @ Vector(c)).z for p in parts for c in p.bound_box)
        flat_tops.append((x, y, top_z, index))
    objects.append({"id": index, "kind": kind, "parts": len(parts), "size": round(size, 3),
                    "colour": [round(c, 3) for c in col], "texture": tex, "at": [round(x, 3), round(y, 3)]}
                   | ({"on": on[3]} if on is not None else {}))

# Light: a sun at a random angle (hard shadows), an area light, and a dim sky (the street: the sky texture above); inside, where no sun reaches, three
# area lights under the ceiling and a point lamp.
if not inside:
    sun_data = bpy.data.lights.new("sun", type="SUN")
    sun_data.energy = rng.uniform(2.0, 4.0)
    sun = bpy.data.objects.new("sun", sun_data)
    sun.rotation_euler = (rng.uniform(0.3, 0.9), 0, rng.uniform(0, 2 * math.pi))
    scene.collection.objects.link(sun)
    area_data = bpy.data.lights.new("area", type="AREA")
    area_data.energy = 600
    area_data.size = 3
    area = bpy.data.objects.new("area", area_data)
    area.location = (rng.uniform(-2, 2), rng.uniform(-3, 0), 4.5)
    scene.collection.objects.link(area)
else:
    for i in range(3):
        area_data = bpy.data.lights.new(f"area{i}", type="AREA")
        area_data.energy = rng.uniform(60, 140)
        area_data.size = 1.2
        area = bpy.data.objects.new(f"area{i}", area_data)
        area.location = (rng.uniform(-2.2, 2.2), rng.uniform(-2.2, 2.2), height - 0.05)
        scene.collection.objects.link(area)
    lamp_data = bpy.data.lights.new("lamp", type="POINT")
    lamp_data.energy = rng.uniform(40, 100)
    lamp_data.shadow_soft_size = 0.1
    lamp = bpy.data.objects.new("lamp", lamp_data)
    lamp.location = (rng.uniform(-1.5, 1.5), rng.uniform(-1.5, 1.5), rng.uniform(1.8, 2.3))
    scene.collection.objects.link(lamp)
# Render settings: Cycles on the CPU, a little noise left in (no denoiser), 8-bit PNG in sRGB.
scene.render.engine = "CYCLES"
scene.cycles.device = "CPU"
scene.cycles.samples = args.samples
scene.cycles.use_denoising = False
scene.cycles.max_bounces = 4
scene.render.resolution_x, scene.render.resolution_y = args.width, args.height
scene.render.resolution_percentage = 100
scene.render.image_settings.file_format = "PNG"
scene.render.image_settings.color_mode = "RGB"
scene.render.film_transparent = False
scene.view_layers[0].use_pass_object_index = True
scene.use_nodes = True
tree = scene.node_tree
tree.nodes.clear()
layers = tree.nodes.new("CompositorNodeRLayers")
composite = tree.nodes.new("CompositorNodeComposite")
# The object-index pass goes to a float EXR (a viewer node's image is not filled in background mode).
index_out = tree.nodes.new("CompositorNodeOutputFile")
index_out.format.file_format = "OPEN_EXR"
index_out.format.color_depth = "32"
index_out.format.color_mode = "RGB"
index_dir = os.path.join(out, ".index")
index_out.base_path = index_dir
tree.links.new(layers.outputs["Image"], composite.inputs["Image"])
tree.links.new(layers.outputs["IndexOB"], index_out.inputs[0])

cam_data = bpy.data.cameras.new("camera")
cam_data.lens_unit = "FOV"
cam_data.angle = math.radians(rng.uniform(55, 70))
cam_data.sensor_fit = "HORIZONTAL"
cam = bpy.data.objects.new("camera", cam_data)
scene.collection.objects.link(cam)
scene.camera = cam

# Cameras. Orbit: a free arc on the room's open side (radius, height and aim vary), never behind a wall. Inside: near
# the middle of the room, turning twice round with the yaw drawn about its place in the turn, looking 8-32 degrees
# down (a hand-held scan's path).
frames, train, test, eyes = [], [], [], []
for i in range(args.views):
    if street:  # a walk down the street's middle and back on its other half, at eye height, looking ahead or aside
        half_way = args.views // 2
        back = i >= half_way
        t = (i - half_way) / max(1, args.views - half_way - 1) if back else i / max(1, half_way - 1)
        x = (STREET_L / 2 - 2) * (1 - 2 * t) if back else -(STREET_L / 2 - 2) * (1 - 2 * t)
        eye = Vector((x + rng.uniform(-0.3, 0.3), (0.45 if back else -0.45) + rng.uniform(-0.25, 0.25), rng.uniform(1.5, 1.8)))
        ahead = math.pi if back else 0.0
        yaw = ahead + (rng.uniform(-0.45, 0.45) if rng.random() < 0.6 else rng.choice((-1, 1)) * rng.uniform(0.5, 0.9))
        pitch = math.radians(rng.uniform(0, 10))
        aim = eye + Vector((math.cos(yaw) * math.cos(pitch), math.sin(yaw) * math.cos(pitch), -math.sin(pitch)))
    elif shelf:  # forward-facing: in front of the shelves, 0.8-1.7 m from them, looking at a point on their front
        eye = Vector((rng.uniform(-1.2, 1.2), SHELF_Y - SHELF_D / 2 - rng.uniform(0.8, 1.7), rng.uniform(0.5, 1.9)))
        aim = Vector((rng.uniform(-0.7, 0.7), SHELF_Y, rng.uniform(0.4, 1.7)))
    elif tabletop:  # one turn round the table, 0.8-1.3 m from its middle, looking at a point on its top
        az = 2 * math.pi * i / args.views + rng.uniform(-0.1, 0.1)
        r = rng.uniform(0.8, 1.3)
        eye = Vector((r * math.cos(az), r * math.sin(az), rng.uniform(1.15, 1.65)))
        aim = Vector((rng.uniform(-0.5, 0.5), rng.uniform(-0.3, 0.3), TABLE_H))
    elif inside:
        pr, pa = 0.9 * math.sqrt(rng.random()), rng.uniform(0, 2 * math.pi)
        eye = Vector((pr * math.cos(pa), pr * math.sin(pa), rng.uniform(1.25, 1.8)))
        yaw = 2 * 2 * math.pi * i / args.views + rng.uniform(-0.15, 0.15)
        pitch = math.radians(rng.uniform(8, 32))
        aim = eye + Vector((math.cos(yaw) * math.cos(pitch), math.sin(yaw) * math.cos(pitch), -math.sin(pitch)))
    else:
        az = -math.pi / 2 + (2 * i / max(1, args.views - 1) - 1) * math.pi * 0.22 + rng.uniform(-0.05, 0.05)
        r = rng.uniform(4.5, 6.0)
        h = rng.uniform(1.6, 4.2)
        eye = Vector((r * math.cos(az), r * math.sin(az), h))
        aim = Vector((rng.uniform(-0.8, 0.8), rng.uniform(-0.5, 0.8), rng.uniform(0.0, 0.6)))
    cam.location = eye
    eyes.append(tuple(eye))
    cam.rotation_euler = (aim - eye).to_track_quat("-Z", "Y").to_euler()
    bpy.context.view_layer.update()
    name = f"frame_{i:04d}"
    scene.render.filepath = os.path.join(out, "images", name + ".png")
    index_out.file_slots[0].path = name + "_"
    bpy.ops.render.render(write_still=True)
    exr = os.path.join(index_dir, f"{name}_{scene.frame_current:04d}.exr")
    img = bpy.data.images.load(exr)
    index = np.array(img.pixels[:], dtype=np.float32).reshape(args.height, args.width, img.channels)[::-1, :, 0]
    bpy.data.images.remove(img)
    os.remove(exr)
    index = np.rint(index).astype(np.int32)
    np.save(os.path.join(out, "gt_instance", name + ".npy"), np.where(index >= SURFACE, 0, index).astype(np.int32))
    surfaces = np.where(index >= SURFACE, index - SURFACE, 0)
    if street:
        surfaces = np.where(index == 0, 10, surfaces)  # the sky: no object, no geometry
    np.save(os.path.join(out, "gt_surface", name + ".npy"), surfaces.astype(np.int32))
    m = cam.matrix_world
    frames.append({"file_path": f"images/{name}.png", "transform_matrix": [list(row) for row in m]})
    (test if i % args.test_every == args.test_every - 1 else train).append(f"images/{name}.png")

# Intrinsics from the horizontal field of view (Blender's sensor fit), principal point at the centre.
fx = args.width / 2 / math.tan(cam_data.angle / 2)

# An SfM-like cloud: points on every surface (area-weighted), 1 cm jitter, colours with noise, some outliers.
def world_triangles(obj):
    mesh = obj.data
    mesh.calc_loop_triangles()
    mw = obj.matrix_world
    verts = np.array([tuple(mw @ v.co) for v in mesh.vertices], dtype=np.float64)
    tris = np.array([tuple(t.vertices) for t in mesh.loop_triangles], dtype=np.int64)
    return verts[tris]


bpy.context.view_layer.update()
tri_sets, colours = [], []
for o in scene.objects:
    if o.type != "MESH":
        continue
    t = world_triangles(o)
    base = o.active_material.node_tree.nodes["Principled BSDF"].inputs["Base Color"].default_value
    tri_sets.append(t)
    colours.append(np.repeat(np.array(base[:3])[None], len(t), axis=0))
tris = np.concatenate(tri_sets)
cols = np.concatenate(colours)
area_w = 0.5 * np.linalg.norm(np.cross(tris[:, 1] - tris[:, 0], tris[:, 2] - tris[:, 0]), axis=1)
if street:  # SfM finds points where the cameras see surfaces up close, not per square metre of a 70 m street
    centroids = tris.mean(axis=1)
    near = np.min(np.linalg.norm(centroids[:, None, :] - np.array(eyes)[None, :, :], axis=2), axis=1)
    area_w = area_w / np.maximum(near, 2.0) ** 2
nrng = np.random.default_rng(args.seed)
pick = nrng.choice(len(tris), size=args.points, p=area_w / area_w.sum())
u, v = nrng.random(args.points), nrng.random(args.points)
flip = u + v > 1
u[flip], v[flip] = 1 - u[flip], 1 - v[flip]
t = tris[pick]
pts = t[:, 0] + u[:, None] * (t[:, 1] - t[:, 0]) + v[:, None] * (t[:, 2] - t[:, 0])
pts += nrng.normal(0, 0.01, pts.shape)
outliers = nrng.random(args.points) < 0.02
pts[outliers] += nrng.normal(0, 0.3, (outliers.sum(), 3))
rgb = np.clip(cols[pick] ** (1 / 2.2) + nrng.normal(0, 0.06, (args.points, 3)), 0, 1)
with open(os.path.join(out, "points3D.ply"), "w") as f:
    f.write(f"ply\nformat ascii 1.0\nelement vertex {args.points}\nproperty float x\nproperty float y\nproperty float z\n"
            "property uchar red\nproperty uchar green\nproperty uchar blue\nend_header\n")
    for p, c in zip(pts, (rgb * 255).round().astype(int)):
        f.write(f"{p[0]:.5f} {p[1]:.5f} {p[2]:.5f} {c[0]} {c[1]} {c[2]}\n")

doc = {"fl_x": fx, "fl_y": fx, "cx": args.width / 2, "cy": args.height / 2, "w": args.width, "h": args.height,
       "ply_file_path": "points3D.ply", "frames": frames,
       "train_filenames": train, "test_filenames": test}
with open(os.path.join(out, "transforms.json"), "w") as f:
    json.dump(doc, f, indent=1)
with open(os.path.join(out, "objects.json"), "w") as f:
    json.dump({"generator": f"Blender {bpy.app.version_string}, Cycles {args.samples} spp", "seed": args.seed, "layout": args.layout,
               "objects": objects} | ({"identical": args.identical} if args.identical else {}), f, indent=1)
os.rmdir(index_dir)
print(f"wrote {out}: {args.views} views {args.width}x{args.height}, {len(objects)} objects")
