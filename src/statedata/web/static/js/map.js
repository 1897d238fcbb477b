// Draws the dataset page's map with MapLibre GL: the data alone on a plain background (no
// tiles are reachable), fitted to the data, with zoom buttons and a scale. The sentence and
// table beside the map say what it shows, for those who cannot see it.
import { LngLatBounds, Map, NavigationControl, ScaleControl } from "/static/vendor/maplibre-gl.mjs";

const box = document.getElementById("map-canvas");

function asGeoJSON(kind, data) {
  if (kind !== "points") {
    return { type: "FeatureCollection", features: (data.features || []).filter((f) => f.geometry) };
  }
  // One point per place, from the SODA rows (latitude, longitude, name, n).
  return {
    type: "FeatureCollection",
    features: data.map((row) => ({
      type: "Feature",
      geometry: { type: "Point", coordinates: [Number(row.longitude), Number(row.latitude)] },
      properties: { name: row.name || "", rows: Number(row.n) },
    })),
  };
}

function extend(bounds, coordinates) {
  if (typeof coordinates[0] === "number") {
    bounds.extend(coordinates);
  } else {
    coordinates.forEach((inner) => extend(bounds, inner));
  }
}

function isType(...types) {
  return ["match", ["geometry-type"], types, true, false];
}

async function draw() {
  const answer = await fetch(box.dataset.source, { headers: { Accept: "application/json" } });
  if (!answer.ok) {
    throw new Error(`The places could not be loaded (${answer.status}).`);
  }
  const geojson = asGeoJSON(box.dataset.kind, await answer.json());
  box.dataset.features = String(geojson.features.length);
  if (!geojson.features.length) {
    box.remove();
    return;
  }
  const bounds = new LngLatBounds();
  geojson.features.forEach((f) => extend(bounds, f.geometry.coordinates));
  const map = new Map({
    container: box,
    attributionControl: false,
    bounds,
    fitBoundsOptions: { padding: 40, maxZoom: 12 },
    style: {
      version: 8,
      sources: { places: { type: "geojson", data: geojson } },
      layers: [
        { id: "background", type: "background", paint: { "background-color": "#f0f4f7" } },
        {
          id: "areas",
          type: "fill",
          source: "places",
          filter: isType("Polygon", "MultiPolygon"),
          paint: { "fill-color": "#005ea2", "fill-opacity": 0.3 },
        },
        {
          id: "edges",
          type: "line",
          source: "places",
          filter: isType("Polygon", "MultiPolygon", "LineString", "MultiLineString"),
          paint: { "line-color": "#1b1b1b", "line-width": 1.5 },
        },
        {
          id: "points",
          type: "circle",
          source: "places",
          filter: isType("Point", "MultiPoint"),
          paint: {
            "circle-radius": 7,
            "circle-color": "#005ea2",
            "circle-stroke-color": "#ffffff",
            "circle-stroke-width": 2,
          },
        },
      ],
    },
  });
  map.addControl(new NavigationControl({ showCompass: false }), "top-right");
  map.addControl(new ScaleControl({ unit: "imperial" }), "bottom-left");
  map.once("idle", () => {
    box.dataset.drawn = "yes";
  });
  window.statedataMap = map; // for the browser tests, which ask what the map drew
}

if (box) {
  draw().catch((error) => {
    box.dataset.drawn = "failed";
    box.textContent = `${error.message} The table below lists the places.`;
    console.error(error);
  });
}
