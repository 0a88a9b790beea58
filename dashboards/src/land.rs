//! The map's land layer without a tile server: Natural Earth 1:10m land (public domain, as
//! TopoJSON from npm `world-atlas`, see `assets/vendor/README.md`) is embedded in the binary,
//! decoded on first use, and served as GeoJSON clipped to the area around the public stations
//! (`GET /map/land.geojson`), so an offline demo still shows the coast and the islands.

use std::sync::{Arc, Mutex, OnceLock};

use serde::Deserialize;
use serde_json::json;

static TOPOLOGY: &[u8] = include_bytes!("../assets/vendor/natural-earth/land-10m.json");

/// Where the land comes from, said on the map and in the GeoJSON.
pub const ATTRIBUTION: &str = "Natural Earth (public domain)";

/// A longitude/latitude box: west, south, east, north, in degrees.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Bbox {
    pub west: f64,
    pub south: f64,
    pub east: f64,
    pub north: f64,
}

impl Bbox {
    /// Schleswig-Holstein, for a map without stations yet.
    pub const DEFAULT: Bbox = Bbox {
        west: 7.5,
        south: 53.2,
        east: 11.8,
        north: 55.2,
    };

    /// The box around `points` (lon, lat) with room to pan: half the span on each side, and at
    /// least 0.3° of latitude (about 33 km), so a single station still has its coast around it.
    pub fn around(points: impl IntoIterator<Item = (f64, f64)>) -> Bbox {
        let mut b: Option<Bbox> = None;
        for (lon, lat) in points {
            if !(lon.is_finite() && lat.is_finite()) {
                continue;
            }
            let p = Bbox {
                west: lon,
                south: lat,
                east: lon,
                north: lat,
            };
            b = Some(match b {
                None => p,
                Some(b) => Bbox {
                    west: b.west.min(lon),
                    south: b.south.min(lat),
                    east: b.east.max(lon),
                    north: b.north.max(lat),
                },
            });
        }
        let Some(b) = b else {
            return Bbox::DEFAULT;
        };
        let pad_lat = ((b.north - b.south) / 2.0).max(0.3);
        // A degree of longitude is shorter in the north; pad the same distance both ways.
        let shrink = ((b.south + b.north) / 2.0).to_radians().cos().max(0.2);
        let pad_lon = ((b.east - b.west) / 2.0).max(0.3 / shrink);
        // On the 1e-4 grid the clipped points are rounded to, so they stay inside.
        let (down, up) = (
            |v: f64| (v * 1e4).floor() / 1e4,
            |v: f64| (v * 1e4).ceil() / 1e4,
        );
        Bbox {
            west: down(b.west - pad_lon).max(-180.0),
            south: down(b.south - pad_lat).max(-90.0),
            east: up(b.east + pad_lon).min(180.0),
            north: up(b.north + pad_lat).min(90.0),
        }
    }

    fn overlaps(&self, other: &Bbox) -> bool {
        self.west <= other.east
            && other.west <= self.east
            && self.south <= other.north
            && other.south <= self.north
    }

    fn of(points: &[[f64; 2]]) -> Bbox {
        let mut b = Bbox {
            west: f64::INFINITY,
            south: f64::INFINITY,
            east: f64::NEG_INFINITY,
            north: f64::NEG_INFINITY,
        };
        for [x, y] in points {
            b.west = b.west.min(*x);
            b.east = b.east.max(*x);
            b.south = b.south.min(*y);
            b.north = b.north.max(*y);
        }
        b
    }
}

/// A closed ring of (lon, lat) points, the first not repeated at the end.
struct Ring {
    bbox: Bbox,
    points: Vec<[f64; 2]>,
}

/// Land polygons: each an outer ring and its holes (lakes).
struct Land {
    polygons: Vec<Vec<Ring>>,
}

#[derive(Deserialize)]
struct Topology {
    transform: Transform,
    arcs: Vec<Vec<[i64; 2]>>,
    objects: Objects,
}

#[derive(Deserialize)]
struct Transform {
    scale: [f64; 2],
    translate: [f64; 2],
}

#[derive(Deserialize)]
struct Objects {
    land: Collection,
}

#[derive(Deserialize)]
struct Collection {
    geometries: Vec<Geometry>,
}

#[derive(Deserialize)]
#[serde(tag = "type")]
enum Geometry {
    Polygon { arcs: Vec<Vec<i64>> },
    MultiPolygon { arcs: Vec<Vec<Vec<i64>>> },
}

impl Land {
    /// Decodes a TopoJSON topology with a quantised, delta-encoded `land` collection
    /// (TopoJSON specification 2.1.2 and 2.2).
    fn decode(bytes: &[u8]) -> Result<Land, String> {
        let topology: Topology = serde_json::from_slice(bytes).map_err(|e| e.to_string())?;
        let [sx, sy] = topology.transform.scale;
        let [tx, ty] = topology.transform.translate;
        let arcs: Vec<Vec<[f64; 2]>> = topology
            .arcs
            .iter()
            .map(|arc| {
                let (mut x, mut y) = (0i64, 0i64);
                arc.iter()
                    .map(|[dx, dy]| {
                        x += dx;
                        y += dy;
                        [x as f64 * sx + tx, y as f64 * sy + ty]
                    })
                    .collect()
            })
            .collect();
        let ring = |indices: &Vec<i64>| -> Result<Ring, String> {
            let mut points: Vec<[f64; 2]> = Vec::new();
            for &index in indices {
                // A negative index is the arc ~index, walked backwards.
                let (i, reversed) = if index < 0 {
                    ((!index) as usize, true)
                } else {
                    (index as usize, false)
                };
                let arc = arcs.get(i).ok_or(format!("arc {index} does not exist"))?;
                let mut part: Vec<[f64; 2]> = arc.clone();
                if reversed {
                    part.reverse();
                }
                // Consecutive arcs share their end point.
                let skip = usize::from(!points.is_empty());
                points.extend(part.into_iter().skip(skip));
            }
            if points.len() > 1 && points.first() == points.last() {
                points.pop();
            }
            Ok(Ring {
                bbox: Bbox::of(&points),
                points,
            })
        };
        let mut polygons = Vec::new();
        for geometry in &topology.objects.land.geometries {
            let parts = match geometry {
                Geometry::Polygon { arcs } => std::slice::from_ref(arcs),
                Geometry::MultiPolygon { arcs } => arcs.as_slice(),
            };
            for rings in parts {
                polygons.push(rings.iter().map(ring).collect::<Result<Vec<_>, _>>()?);
            }
        }
        Ok(Land { polygons })
    }

    /// The land inside `bbox`, as GeoJSON MultiPolygon coordinates, rounded to 1e-4 degrees
    /// (about 10 m, finer than the data's 1:10m scale).
    fn clip(&self, bbox: &Bbox) -> Vec<Vec<Vec<[f64; 2]>>> {
        let mut out = Vec::new();
        for polygon in &self.polygons {
            let Some(outer) = polygon.first() else {
                continue;
            };
            if !outer.bbox.overlaps(bbox) {
                continue;
            }
            let mut rings = Vec::new();
            for (i, ring) in polygon.iter().enumerate() {
                if !ring.bbox.overlaps(bbox) {
                    continue;
                }
                let mut clipped = clip_ring(&ring.points, bbox);
                for p in &mut clipped {
                    *p = [round4(p[0]), round4(p[1])];
                }
                clipped.dedup();
                if clipped.len() < 3 {
                    if i == 0 {
                        break;
                    }
                    continue;
                }
                // GeoJSON closes every ring with its first point.
                clipped.push(clipped[0]);
                rings.push(clipped);
            }
            if !rings.is_empty() {
                out.push(rings);
            }
        }
        out
    }
}

fn round4(v: f64) -> f64 {
    (v * 10_000.0).round() / 10_000.0
}

/// Sutherland-Hodgman clipping of a ring against the four sides of the box. A concave ring
/// may come out with edges running along the box's border; filled, they look the same.
fn clip_ring(points: &[[f64; 2]], b: &Bbox) -> Vec<[f64; 2]> {
    // Each side: is a point inside, and where does a segment cross it.
    type Inside = fn(&[f64; 2], f64) -> bool;
    let sides: [(Inside, usize, f64); 4] = [
        (|p, v| p[0] >= v, 0, b.west),
        (|p, v| p[0] <= v, 0, b.east),
        (|p, v| p[1] >= v, 1, b.south),
        (|p, v| p[1] <= v, 1, b.north),
    ];
    let mut ring = points.to_vec();
    for (inside, axis, value) in sides {
        if ring.is_empty() {
            break;
        }
        let input = std::mem::take(&mut ring);
        let mut previous = *input.last().expect("not empty");
        for current in input {
            let cross = |a: [f64; 2], c: [f64; 2]| {
                let t = (value - a[axis]) / (c[axis] - a[axis]);
                let mut p = [a[0] + t * (c[0] - a[0]), a[1] + t * (c[1] - a[1])];
                p[axis] = value;
                p
            };
            match (inside(&current, value), inside(&previous, value)) {
                (true, true) => ring.push(current),
                (true, false) => {
                    ring.push(cross(previous, current));
                    ring.push(current);
                }
                (false, true) => ring.push(cross(previous, current)),
                (false, false) => {}
            }
            previous = current;
        }
    }
    ring
}

fn land() -> &'static Land {
    static LAND: OnceLock<Land> = OnceLock::new();
    LAND.get_or_init(|| Land::decode(TOPOLOGY).expect("the embedded Natural Earth land decodes"))
}

/// The land around `bbox` as a GeoJSON FeatureCollection. The last answer is kept: the
/// stations, and so the box, rarely change.
pub fn geojson(bbox: Bbox) -> Arc<str> {
    static LAST: Mutex<Option<(Bbox, Arc<str>)>> = Mutex::new(None);
    if let Some((b, body)) = LAST.lock().expect("not poisoned").as_ref() {
        if *b == bbox {
            return body.clone();
        }
    }
    let body: Arc<str> = json!({
        "type": "FeatureCollection",
        "bbox": [bbox.west, bbox.south, bbox.east, bbox.north],
        "features": [{
            "type": "Feature",
            "properties": { "name": "land", "source": "Natural Earth 1:10m land 4.1.0", "attribution": ATTRIBUTION },
            "geometry": { "type": "MultiPolygon", "coordinates": land().clip(&bbox) },
        }],
    })
    .to_string()
    .into();
    *LAST.lock().expect("not poisoned") = Some((bbox, body.clone()));
    body
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Ray casting: is (lon, lat) inside the polygon (outer ring minus holes)?
    fn inside(polygon: &[Vec<[f64; 2]>], lon: f64, lat: f64) -> bool {
        let in_ring = |ring: &Vec<[f64; 2]>| {
            let mut odd = false;
            for w in ring.windows(2) {
                let ([x1, y1], [x2, y2]) = (w[0], w[1]);
                if (y1 > lat) != (y2 > lat) && lon < x1 + (lat - y1) / (y2 - y1) * (x2 - x1) {
                    odd = !odd;
                }
            }
            odd
        };
        in_ring(&polygon[0]) && !polygon[1..].iter().any(in_ring)
    }

    fn on_land(land: &[Vec<Vec<[f64; 2]>>], lon: f64, lat: f64) -> bool {
        land.iter().any(|p| inside(p, lon, lat))
    }

    #[test]
    fn the_islands_and_the_coast_are_land_and_the_wadden_sea_is_not() {
        let stations = [(8.5650, 54.6917), (8.3617, 54.6536)];
        let bbox = Bbox::around(stations);
        let land = land().clip(&bbox);
        // Föhr, Amrum, Sylt, and the mainland near Niebüll.
        for (place, lon, lat) in [
            ("Föhr", 8.52, 54.71),
            ("Amrum", 8.36, 54.65),
            ("Sylt", 8.31, 54.90),
            ("Nordfriesland", 8.9, 54.78),
        ] {
            assert!(on_land(&land, lon, lat), "{place} is on land");
        }
        // The tidal flats south of Föhr and east of Amrum, the open North Sea west of Amrum.
        for (place, lon, lat) in [("Wattenmeer", 8.45, 54.65), ("Nordsee", 8.1, 54.6)] {
            assert!(!on_land(&land, lon, lat), "{place} is water");
        }
        for point in land.iter().flatten().flatten() {
            assert!(
                (bbox.west..=bbox.east).contains(&point[0])
                    && (bbox.south..=bbox.north).contains(&point[1]),
                "{point:?} outside {bbox:?}"
            );
        }
    }

    #[test]
    fn a_ring_crossing_the_box_is_cut_at_its_sides() {
        let square = [[0.0, 0.0], [2.0, 0.0], [2.0, 2.0], [0.0, 2.0]];
        let bbox = Bbox {
            west: 1.0,
            south: -1.0,
            east: 3.0,
            north: 1.0,
        };
        let clipped = clip_ring(&square, &bbox);
        let b = Bbox::of(&clipped);
        assert_eq!((b.west, b.south, b.east, b.north), (1.0, 0.0, 2.0, 1.0));
        // Shoelace: the quarter of the square inside the box.
        let area: f64 = (0..clipped.len())
            .map(|i| {
                let (a, c) = (clipped[i], clipped[(i + 1) % clipped.len()]);
                a[0] * c[1] - c[0] * a[1]
            })
            .sum::<f64>()
            / 2.0;
        assert!((area.abs() - 1.0).abs() < 1e-9, "{area}");
        let outside = Bbox {
            west: 5.0,
            south: 5.0,
            east: 6.0,
            north: 6.0,
        };
        assert!(clip_ring(&square, &outside).is_empty());
    }

    #[test]
    fn the_box_has_room_around_one_station_and_a_default_without_any() {
        let one = Bbox::around([(8.5, 54.7)]);
        assert!(
            one.north - one.south >= 0.59 && one.east - one.west >= 0.59,
            "{one:?}"
        );
        assert_eq!(Bbox::around([(f64::NAN, 1.0)]), Bbox::DEFAULT);
        assert_eq!(Bbox::around(std::iter::empty()), Bbox::DEFAULT);
    }
}
