"""Leaflet layers and controls for siting's maps: classed GeoJSON, office symbols, legend."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import folium
import numpy as np
import numpy.typing as npt
import shapely
from folium.map import Layer
from folium.template import Template

# Leaflet's own files; the pages use nothing else (no jQuery, Bootstrap or icon fonts), so a
# self-contained copy needs only these two and the image folder
LEAFLET_VERSION = "1.9.4"
LEAFLET_CDN = f"https://cdn.jsdelivr.net/npm/leaflet@{LEAFLET_VERSION}/dist"
COORDINATE_DECIMALS = 5  # about 1 m

SITE_CSS = """
.siting-icon svg { display: block; }
.siting-box { background: rgba(255,255,255,0.92); padding: 6px 8px; border-radius: 4px;
  box-shadow: 0 1px 4px rgba(0,0,0,0.35); font: 13px/1.35 system-ui, sans-serif; max-width: 320px; }
.siting-box h2 { font-size: 13px; margin: 0 0 4px; }
.siting-box .row { display: flex; align-items: center; gap: 6px; }
.siting-box .swatch { width: 14px; height: 14px; border: 1px solid #555; flex: none; }
.siting-model-estimate { background: #fff3bf; border: 2px solid #e67700; }
.siting-popup td, .siting-popup th { padding: 1px 4px; text-align: left; vertical-align: top; }
@media (max-width: 600px) { .siting-box { font-size: 11px; max-width: 190px; } }
"""


class ClassedGeoJson(Layer):
    """Features coloured by a class index held in each feature's properties.

    Properties used: the class key (`class_key`, an index into `colors`), ``t`` (tooltip
    HTML, already escaped), ``p`` (popup HTML, already escaped), ``r`` (circle radius in
    pixels, for points). Points become circle markers, or `icons` (HTML per class) if given.
    The data may be shared with another layer through `data_var` (one copy in the page).
    """

    _template = Template(
        """
        {% macro script(this, kwargs) %}
        var {{ this.get_name() }} = L.geoJSON(
            {%- if this.data_var %}{{ this.data_var }}{% else %}{{ this.data|tojson }}{% endif %}, {
            style: function (feature) {
                var key = {{ this.class_key|tojson }};
                var color = {{ this.colors|tojson }}[feature.properties[key]];
                var style = Object.assign({}, {{ this.path_style|tojson }}, {fillColor: color});
                if (style.color === undefined) { style.color = color; }
                return style;
            },
            pointToLayer: function (feature, latlng) {
                {%- if this.icons %}
                var icon = L.divIcon({
                    html: {{ this.icons|tojson }}[feature.properties[{{ this.class_key|tojson }}]],
                    className: "siting-icon", iconSize: [22, 22], iconAnchor: [11, 11]});
                return L.marker(latlng, {icon: icon, keyboard: true});
                {%- else %}
                return L.circleMarker(latlng, {radius: feature.properties.r || 5});
                {%- endif %}
            },
            onEachFeature: function (feature, layer) {
                {%- if this.tooltips %}
                if (feature.properties.t) { layer.bindTooltip(feature.properties.t); }
                {%- endif %}
                if (feature.properties.p) {
                    layer.bindPopup(feature.properties.p, {maxWidth: 320});
                }
            }
        });
        {% endmacro %}
        """
    )

    def __init__(
        self,
        data: dict[str, Any] | None,
        *,
        name: str,
        colors: Sequence[str],
        class_key: str = "c",
        path_style: dict[str, Any] | None = None,
        icons: Sequence[str] | None = None,
        data_var: str | None = None,
        tooltips: bool = True,
        show: bool = True,
    ) -> None:
        super().__init__(name=name, overlay=True, control=True, show=show)
        self._name = "ClassedGeoJson"
        self.data = data
        self.data_var = data_var
        self.colors = list(colors)
        self.class_key = class_key
        self.path_style = path_style or {"weight": 0, "fillOpacity": 0.7}
        self.icons = list(icons) if icons else None
        self.tooltips = tooltips


class SharedData(folium.MacroElement):
    """A GeoJSON FeatureCollection written once into the page as a JavaScript variable."""

    _template = Template(
        """
        {% macro script(this, kwargs) %}
        var {{ this.get_name() }} = {{ this.data|tojson }};
        {% endmacro %}
        """
    )

    def __init__(self, data: dict[str, Any]) -> None:
        super().__init__()  # type: ignore[no-untyped-call]
        self._name = "SharedData"
        self.data = data


class HtmlControl(folium.MacroElement):
    """A box in a corner of the map holding HTML built (and escaped) by siting."""

    _template = Template(
        """
        {% macro script(this, kwargs) %}
        var {{ this.get_name() }} = L.control({position: {{ this.position|tojson }}});
        {{ this.get_name() }}.onAdd = function () {
            var div = L.DomUtil.create("div", {{ this.css_class|tojson }});
            div.innerHTML = {{ this.html|tojson }};
            L.DomEvent.disableScrollPropagation(div);
            L.DomEvent.disableClickPropagation(div);
            // on a phone or in a side-by-side frame, start with a folded legend
            var folded = div.querySelector("details");
            if (folded && {{ this._parent.get_name() }}.getSize().x < 700) { folded.open = false; }
            return div;
        };
        {{ this.get_name() }}.addTo({{ this._parent.get_name() }});
        {% endmacro %}
        """
    )

    def __init__(self, html: str, *, position: str, css_class: str) -> None:
        super().__init__()  # type: ignore[no-untyped-call]
        self._name = "HtmlControl"
        self.html = html
        self.position = position
        self.css_class = css_class


def feature_collection(
    geometries: npt.ArrayLike, properties: Sequence[dict[str, Any]]
) -> dict[str, Any]:
    """GeoJSON FeatureCollection from WGS84 shapely geometries, coordinates rounded to ~1 m."""
    rounded = shapely.transform(
        np.asarray(geometries, dtype=object), lambda xy: np.round(xy, COORDINATE_DECIMALS)
    )
    features = [
        {"type": "Feature", "geometry": shapely.geometry.mapping(geometry), "properties": props}
        for geometry, props in zip(rounded, properties, strict=True)
        if geometry is not None and not geometry.is_empty
    ]
    return {"type": "FeatureCollection", "features": features}


def svg_symbol(shape: str, fill: str, *, stroke: str = "#ffffff", size_px: int = 22) -> str:
    """Inline SVG of an office symbol: ``circle``, ``star``, ``cross``, ``triangle``, ``square``."""
    half = size_px / 2
    shapes = {
        "circle": f'<circle cx="{half}" cy="{half}" r="{half - 3}"/>',
        "square": f'<rect x="5" y="5" width="{size_px - 10}" height="{size_px - 10}"/>',
        "triangle": f'<polygon points="{half},2 {size_px - 2},{size_px - 3} 2,{size_px - 3}"/>',
        "star": '<polygon points="11,1 13.9,7.5 21,8.2 15.6,13 17.2,20 11,16.4 4.8,20 6.4,13 '
        '1,8.2 8.1,7.5"/>',
        "cross": f'<circle cx="{half}" cy="{half}" r="{half - 3}"/>'
        f'<path d="M7 7L15 15M15 7L7 15" stroke="#ffffff" stroke-width="2.5"/>',
    }
    return (
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{size_px}" height="{size_px}" '
        f'viewBox="0 0 {size_px} {size_px}" aria-hidden="true">'
        f'<g fill="{fill}" stroke="{stroke}" stroke-width="1.5">{shapes[shape]}</g></svg>'
    )


class ViewSync(folium.MacroElement):
    """Keeps maps in frames of one page at the same view (the comparison page relays).

    Inside a frame the map posts its view on every move and follows views posted to it;
    opened on its own it does nothing. Messages carry three numbers, checked on arrival.
    """

    _template = Template(
        """
        {% macro script(this, kwargs) %}
        (function () {
            var map = {{ this._parent.get_name() }};
            if (window.parent === window) { return; }
            var following = false;
            map.on("moveend", function () {
                if (following) { following = false; return; }
                var centre = map.getCenter();
                window.parent.postMessage(
                    {sitingView: {lat: centre.lat, lng: centre.lng, zoom: map.getZoom()}}, "*");
            });
            window.addEventListener("message", function (event) {
                var view = event.data && event.data.sitingSetView;
                if (!view || typeof view.lat !== "number" || typeof view.lng !== "number" ||
                    typeof view.zoom !== "number") { return; }
                var centre = map.getCenter();
                if (Math.abs(centre.lat - view.lat) < 1e-9 &&
                    Math.abs(centre.lng - view.lng) < 1e-9 && map.getZoom() === view.zoom) {
                    return;
                }
                following = true;
                map.setView([view.lat, view.lng], view.zoom, {animate: false});
            });
        })();
        {% endmacro %}
        """
    )

    def __init__(self) -> None:
        super().__init__()  # type: ignore[no-untyped-call]
        self._name = "ViewSync"
