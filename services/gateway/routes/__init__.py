"""Gateway routes, one mixin per owning service; ``GatewayService`` composes them."""
